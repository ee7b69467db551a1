"""Generic ASCII lines (A&D-like, many Chinese and Taiwanese boards), usually 9600 8N1, no check:

    S T , G S , + 0 0 1 2 . 3 4 5 k g CR LF      status ST/US/OL/UL, mode GS/NT, sign and value, unit

Accepted variants: an RS-485 address or other bytes before the status, a space for `+`, space or zero padding, a
comma before the unit. `OL` / `UL` lines are overload / underload whatever their value field says. A count unit
(`pcs`) or another unit that is not a weight makes a well-formed line without a weight (`ignored_frames`).
"""
import re

from canteen.scale_driver.protocols._base import UNITS, Reading, RegexDecoder, text_grams


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

