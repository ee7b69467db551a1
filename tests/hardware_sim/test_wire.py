"""Line timing per serial format, and byte loss and corruption at the asked rates."""
import random

import pytest

from canteen.scale_driver.protocols import SerialDefaults
from hardware_sim.wire import LineNoise, bits_per_byte, seconds_per_byte


@pytest.mark.parametrize(("serial", "bits"), [
    (SerialDefaults(9600, 8, "N", 1), 10),
    (SerialDefaults(9600, 7, "E", 1), 10),
    (SerialDefaults(9600, 8, "E", 1), 11),
    (SerialDefaults(9600, 7, "E", 2), 11),
    (SerialDefaults(9600, 8, "N", 1.5), 10.5),
])
def test_bits_per_byte(serial: SerialDefaults, bits: float) -> None:
    assert bits_per_byte(serial) == bits


def test_9600_8n1_moves_960_bytes_a_second() -> None:
    assert 1 / seconds_per_byte(SerialDefaults()) == pytest.approx(960)


def test_a_clean_line_changes_nothing() -> None:
    data = bytes(range(256)) * 4
    assert LineNoise(0, 0, random.Random(1)).apply(data) == data


def test_drop_and_garble_at_about_their_rates() -> None:
    data = b"\x00" * 100_000
    out = LineNoise(garble_rate=0.02, drop_rate=0.05, rng=random.Random(1)).apply(data)
    assert 94_000 <= len(out) <= 96_000
    changed = sum(1 for byte in out if byte)
    assert 1_700 <= changed <= 2_100  # a garbled byte always differs from the one sent


def test_rates_outside_0_to_1_are_refused() -> None:
    with pytest.raises(ValueError, match="garble rate"):
        LineNoise(1.5, 0, random.Random(1))
    with pytest.raises(ValueError, match="drop rate"):
        LineNoise(0, -0.1, random.Random(1))
