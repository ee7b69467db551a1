"""How long to wait before trying again: capped exponential backoff with jitter, one for every retry loop of the
gateway (reopening a lost scale port, re-sending a batch the server did not take)."""
import random


class Backoff:
    """After the n-th failure in a row, a delay drawn between half and all of min(cap, initial * factor**n).

    Drawing from the upper half keeps the growth (each wait at least half the nominal one) while spreading the
    retries of many gateways that lost the same server at the same moment. `reset()` after a success.
    """

    def __init__(self, initial_s: float = 0.5, cap_s: float = 60.0, factor: float = 2.0,
                 rng: random.Random | None = None) -> None:
        if not 0 < initial_s <= cap_s or factor < 1:
            raise ValueError("backoff needs 0 < initial <= cap and a factor of at least 1")
        self.initial_s, self.cap_s, self.factor = initial_s, cap_s, factor
        self.failures = 0
        self._rng = rng or random.Random()

    def ceiling(self) -> float:
        """The nominal delay for the next failure (the most `next()` can return)."""
        try:
            return min(self.cap_s, self.initial_s * self.factor ** self.failures)
        except OverflowError:  # thousands of failures in a row: long past the cap
            return self.cap_s

    def next(self) -> float:
        """The delay to wait after one more failure."""
        ceiling = self.ceiling()
        self.failures += 1
        return self._rng.uniform(ceiling / 2, ceiling)

    def reset(self) -> None:
        self.failures = 0
