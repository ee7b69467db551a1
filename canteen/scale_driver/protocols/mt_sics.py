"""Mettler Toledo SICS, polled with `SI`: replies `S S value unit` (stable), `S D value unit` (in motion),
`S +` / `S -` (overload / underload). `S I` (busy) and `ES` / `ET` / `EL` (errors) are well-formed replies without a
weight (counted in `ignored_frames`); any other line is a bad frame. The reply has no net/gross flag."""
import re

from canteen.scale_driver.protocols import Reading, SerialDefaults
from canteen.scale_driver.protocols._base import UNITS, RegexDecoder, text_grams

NAME = "mt-sics"
SERIAL = SerialDefaults(baudrate=9600)
POLL = b"SI\r\n"


class Decoder(RegexDecoder):
    pattern = re.compile(
        rb"S (?P<status>[SD]) {1,12}(?P<value>-?\d{1,10}(?:\.\d{1,6})?) {1,4}(?P<unit>[A-Za-z]{1,4})\r?\n"
        rb"|S (?P<limit>[+-])\r?\n"
        rb"|(?:S I|E[STL])\r?\n")
    max_frame = 48
    marks = (b"\n",)

    def _reading(self, match: re.Match[bytes]) -> Reading | None:
        status, value, unit, limit = match.groups()
        if limit is not None:
            return Reading(None, False, False, limit == b"+", limit == b"-", match.group())
        if status is None:  # S I, ES, ET, EL
            self.ignored_frames += 1
            return None
        factor = UNITS.get(unit.lower())
        if factor is None:
            self.ignored_frames += 1
            return None
        return Reading(text_grams(value, factor), status == b"S", False, False, False, match.group())


def decode(data: bytes) -> list[Reading]:
    decoder = Decoder()
    return decoder.feed(data) + decoder.flush()


def encode(reading: Reading) -> bytes:
    """The reply an SICS scale sends to `SI`, in kg (net is not part of the reply)."""
    if reading.overload:
        return b"S +\r\n"
    if reading.underload:
        return b"S -\r\n"
    if reading.grams is None:
        raise ValueError("a reading without overload or underload needs grams")
    whole, fraction = divmod(abs(reading.grams), 1000)
    value = b"%s%d.%03d" % (b"-" if reading.grams < 0 else b"", whole, fraction)
    return b"S %s %10s kg\r\n" % (b"S" if reading.stable else b"D", value)
