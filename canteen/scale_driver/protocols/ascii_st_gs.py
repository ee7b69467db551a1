"""Generic ASCII lines `status,mode,sign value unit CR LF` (A&D-like, many Chinese and Taiwanese boards).

Accepted variants: an RS-485 address or other bytes before the status, a space for `+`, space or zero padding, a
comma before the unit. `OL` / `UL` lines are overload / underload whatever their value field says. A count unit
(`pcs`) or another unit that is not a weight makes a well-formed line without a weight (`ignored_frames`).
"""
import re

from canteen.scale_driver.protocols import Reading, SerialDefaults
from canteen.scale_driver.protocols._base import UNITS, RegexDecoder, kg_text, text_grams

NAME = "ascii-st-gs"
SERIAL = SerialDefaults(baudrate=9600)
POLL = None


class Decoder(RegexDecoder):
    pattern = re.compile(
        rb"(?P<status>ST|US),(?P<mode>GS|NT),(?P<sign>[-+ ]?) {0,8}(?P<value>\d{1,10}(?:\.\d{0,6})?|\.\d{1,6})"
        rb" {0,4},? {0,4}(?P<unit>[A-Za-z]{1,4}) {0,4}\r?\n"
        rb"|(?P<limit>OL|UL),(?P<limit_mode>GS|NT),[^,\r\n]{0,16}(?:,[^,\r\n]{0,8})?\r?\n")
    max_frame = 64
    marks = (b"\n",)

    def _reading(self, match: re.Match[bytes]) -> Reading | None:
        status, mode, sign, value, unit, limit, limit_mode = match.groups()
        if limit is not None:
            return Reading(None, False, limit_mode == b"NT", limit == b"OL", limit == b"UL", match.group())
        factor = UNITS.get(unit.lower())
        if factor is None:
            self.ignored_frames += 1
            return None
        grams = text_grams(value, factor)
        return Reading(-grams if sign == b"-" else grams, status == b"ST", mode == b"NT", False, False,
                       match.group())


def decode(data: bytes) -> list[Reading]:
    decoder = Decoder()
    return decoder.feed(data) + decoder.flush()


def encode(reading: Reading) -> bytes:
    """One line in kg; an overload or underload line carries a zero value."""
    mode = b"NT" if reading.net else b"GS"
    if reading.overload or reading.underload:
        return b"%s,%s,+0000.000kg\r\n" % (b"OL" if reading.overload else b"UL", mode)
    if reading.grams is None:
        raise ValueError("a reading without overload or underload needs grams")
    value = kg_text(abs(reading.grams), 8)
    return b"%s,%s,%s%skg\r\n" % (b"ST" if reading.stable else b"US", mode, b"-" if reading.grams < 0 else b"+", value)
