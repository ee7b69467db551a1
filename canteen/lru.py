"""A bounded, thread-safe, in-process cache: the least recently used entries leave first.

For results that cost far more to make than to name (a chart, a sum over thousands of JSON bodies) and whose key
carries everything they depend on, or a cheap version of it, so a change anywhere (in another worker too) makes
a new key instead of needing an invalidation.
"""
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

ValueT = TypeVar("ValueT")


class BoundedCache(Generic[ValueT]):
    def __init__(self, size: int) -> None:
        self.size = size
        self._entries: OrderedDict[Hashable, ValueT] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, make: Callable[[], ValueT]) -> ValueT:
        """The value stored under `key`, or `make()`'s, stored. The lock is not held while making: two threads
        may make the same new value at once, and both get an equal one."""
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                return self._entries[key]
        value = make()
        with self._lock:
            self._entries[key] = value
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
        return value
