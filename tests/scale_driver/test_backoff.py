"""The one backoff of the gateway: capped exponential growth, each delay drawn from the upper half (jitter)."""
import random

import pytest

from canteen.scale_driver.backoff import Backoff


def test_delays_double_with_jitter_up_to_the_cap() -> None:
    backoff = Backoff(initial_s=0.5, cap_s=60, rng=random.Random(7))
    delays = [backoff.next() for _ in range(12)]
    ceilings = [0.5, 1, 2, 4, 8, 16, 32, 60, 60, 60, 60, 60]
    assert all(ceiling / 2 <= delay <= ceiling for delay, ceiling in zip(delays, ceilings, strict=True))
    assert len(set(delays)) == len(delays)  # jittered: no two the same
    assert backoff.failures == 12
    backoff.reset()
    assert backoff.failures == 0 and 0.25 <= backoff.next() <= 0.5


def test_another_factor_and_thousands_of_failures() -> None:
    backoff = Backoff(initial_s=1, cap_s=10, factor=3, rng=random.Random(1))
    ceilings = []
    for _ in range(4):
        ceilings.append(backoff.ceiling())
        backoff.next()
    assert ceilings == [1, 3, 9, 10]
    for _ in range(5000):
        backoff.next()
    assert backoff.ceiling() == 10 and 5 <= backoff.next() <= 10


def test_the_same_seed_gives_the_same_delays() -> None:
    first, second = (Backoff(rng=random.Random(3)) for _ in range(2))
    assert [first.next() for _ in range(5)] == [second.next() for _ in range(5)]


@pytest.mark.parametrize("arguments", [dict(initial_s=0), dict(initial_s=2, cap_s=1), dict(factor=0.5)])
def test_nonsense_is_refused(arguments: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        Backoff(**arguments)
