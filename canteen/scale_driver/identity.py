"""Codes from the identity reader beside the scale: a barcode/QR scanner (a booking's QR code, a card's barcode) or
a card reader, most of which send each code as one ASCII line over a serial port (USB-CDC, RS-232, a
serial-to-Ethernet box).

A line ends in CR, CR LF or LF; the code is the line without the spaces and tabs around it. An empty line is
ignored. A line longer than MAX_CODE characters (the server's diner_ref), or holding anything but printable ASCII,
is no code the server could take: it is dropped and counted (`dropped`), never cut down to something that might
be another diner's code. Bytes without a line end are kept for the next chunk, but only up to a line's worth:
garbage without line ends never grows memory, and the line it is part of is dropped when it ends.
"""
import re

MAX_CODE = 64  # the longest diner_ref the server stores
LINE_END = re.compile(rb"\r\n?|\n")
PRINTABLE = re.compile(r"[\x20-\x7e]+")
KEPT = MAX_CODE + 64  # bytes of an unfinished line kept: a code with room for padding around it


class CodeLines:
    """One reader's byte stream in, codes out: `feed` the bytes as they come, `flush` where the stream breaks."""

    def __init__(self) -> None:
        self.dropped = 0  # lines that were no code: too long or not printable ASCII
        self._pending = b""
        self._overflow = False  # the unfinished line grew past KEPT: it is dropped when it ends

    def feed(self, chunk: bytes) -> list[str]:
        """The codes of the lines `chunk` completes, oldest first."""
        *lines, rest = LINE_END.split(self._pending + chunk)
        codes = []
        for line in lines:
            code = self._code(line)
            if code:
                codes.append(code)
        self._pending = rest
        if len(rest) > KEPT:
            self._pending, self._overflow = b"", True
        return codes

    def flush(self) -> list[str]:
        """The stream broke (the port was lost): half a code is dropped, never glued to the next connection's bytes."""
        if self._overflow or self._pending.strip(b" \t"):
            self.dropped += 1
        self._pending, self._overflow = b"", False
        return []

    def _code(self, line: bytes) -> str | None:
        overflow, self._overflow = self._overflow, False
        text = line.decode("latin-1").strip(" \t")
        if not text and not overflow:
            return None
        if overflow or len(text) > MAX_CODE or not PRINTABLE.fullmatch(text):
            self.dropped += 1
            return None
        return text
