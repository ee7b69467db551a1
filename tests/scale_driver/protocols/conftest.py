"""Helpers for the protocol tests: cut a byte stream at random places and feed it to a decoder."""
from collections.abc import Callable
from itertools import pairwise

import pytest
from hypothesis import strategies as st

from canteen.scale_driver.protocols import Reading

MAX_PENDING = 64  # no decoder keeps more than this many bytes between feeds


def _chop(data: st.DataObject, stream: bytes) -> list[bytes]:
    cuts = data.draw(st.lists(st.integers(0, len(stream)), max_size=len(stream) // 3 + 2), label="cuts")
    bounds = [0, *sorted(cuts), len(stream)]
    return [stream[start:end] for start, end in pairwise(bounds)]


def _feed_all(decoder, chunks: list[bytes]) -> list[Reading]:
    readings = []
    for chunk in chunks:
        readings += decoder.feed(chunk)
        assert len(decoder._pending) <= MAX_PENDING  # garbage must never grow memory
    return readings + decoder.flush()


@pytest.fixture(scope="session")
def chop() -> Callable[[st.DataObject, bytes], list[bytes]]:
    return _chop


@pytest.fixture(scope="session")
def feed_all() -> Callable[..., list[Reading]]:
    return _feed_all


def garbage(excluded: bytes, max_size: int = 12) -> st.SearchStrategy[bytes]:
    """Random bytes that cannot start, end or complete a frame of the protocol under test."""
    allowed = sorted(set(range(256)) - set(excluded))
    return st.lists(st.sampled_from(allowed), max_size=max_size).map(bytes)


@pytest.fixture(scope="session")
def garbage_without() -> Callable[..., st.SearchStrategy[bytes]]:
    return garbage
