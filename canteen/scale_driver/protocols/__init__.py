"""Weighing-indicator protocols: one `ScaleProtocol` object per indicator family, registered by name.

The decoder contract, which every protocol's decoder follows (`Decoder` below is its type):

- A decoder does no I/O: bytes go in, `Reading`s come out. Make one per byte stream (`protocol.decoder()`); it
  keeps the state of that stream between calls.
- `feed(chunk)` takes the next bytes of the stream, any number of them: a frame may be split across feeds, one
  chunk may hold several frames, garbage may come before, between or inside frames. It returns the readings of
  the frames that the chunk completes, oldest first, and an empty list when it needs more data. Bytes that may
  still become a frame are kept for the next feed (never more than a frame or two, so garbage never grows
  memory). It never raises on bad input: it skips to the next frame start and counts what it skipped.
- `flush()` is the end of the input, at the end of a capture file or wherever the stream breaks (the gateway
  calls it when the scale's port is lost, before the bytes of the next connection). It returns whatever a half
  frame left over can still yield (only a frame whose end is ambiguous can: a toledo-continuous frame without its
  optional checksum), drops any other leftover as a broken frame, and resets the decoder, so that the next `feed`
  starts clean, as a fresh decoder would: bytes from before a break are never glued to bytes after it, and
  stability inferred from repeated frames starts over.
- `bad_frames` counts broken, garbled or failed-check frames skipped; `ignored_frames` counts well-formed frames
  that carry no weight (a count unit, a tare line, a busy or error reply). They only ever grow (flush keeps them).
- A `Reading` with `grams=None` is an overload or underload: the indicator shows no trustworthy weight.

`get(name)` returns the registered `ScaleProtocol` (raising `UnknownProtocol`), `names()` lists the names.
Each protocol module draws its frames; they come from the indicators' manuals and captures, collected in the
project's protocol reference (scale-protocols.md).
"""
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from canteen.scale_driver.protocols import ascii_st_gs, mt_sics, toledo_continuous, yaohua_a12, yaohua_tf0
from canteen.scale_driver.protocols._base import Reading, SerialDefaults

__all__ = ["Decoder", "Reading", "ScaleProtocol", "SerialDefaults", "UnknownProtocol", "get", "names"]


class Decoder(Protocol):
    """Bytes of one stream in, readings out; see the module's contract."""

    bad_frames: int
    ignored_frames: int

    def feed(self, chunk: bytes) -> list[Reading]:
        """The readings of the frames `chunk` completes; [] when more bytes are needed. Never raises."""
        ...

    def flush(self) -> list[Reading]:
        """End of input: what a half frame left over still yields; then start clean."""
        ...


@dataclass(frozen=True)
class ScaleProtocol:
    name: str  # the registry name, e.g. "yaohua-tf0"
    serial: SerialDefaults  # the line settings the indicator uses out of the box
    poll: bytes | None  # what the host sends to get one reading (mt-sics: b"SI\r\n"); None: the indicator streams
    decoder: Callable[[], Decoder]  # a fresh decoder for one byte stream

    def decode(self, data: bytes) -> list[Reading]:
        """All the readings in `data`, a whole stream (a capture): a fresh decoder fed once, then flushed."""
        decoder = self.decoder()
        return decoder.feed(data) + decoder.flush()


PROTOCOLS: dict[str, ScaleProtocol] = {protocol.name: protocol for protocol in (
    ScaleProtocol("yaohua-tf0", SerialDefaults(9600, 8, "N", 1), None, yaohua_tf0.Decoder),
    ScaleProtocol("yaohua-a12", SerialDefaults(9600, 8, "N", 1), None, yaohua_a12.Decoder),
    ScaleProtocol("toledo-continuous", SerialDefaults(9600, 7, "E", 1), None, toledo_continuous.Decoder),
    ScaleProtocol("mt-sics", SerialDefaults(9600, 8, "N", 1), b"SI\r\n", mt_sics.Decoder),
    ScaleProtocol("ascii-st-gs", SerialDefaults(9600, 8, "N", 1), None, ascii_st_gs.Decoder),
)}


class UnknownProtocol(ValueError):
    pass


def names() -> list[str]:
    return list(PROTOCOLS)


def get(name: str) -> ScaleProtocol:
    try:
        return PROTOCOLS[name]
    except KeyError:
        raise UnknownProtocol(f"unknown scale protocol {name!r}; known: {', '.join(PROTOCOLS)}") from None
