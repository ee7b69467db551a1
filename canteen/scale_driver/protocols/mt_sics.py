"""Mettler Toledo SICS at 9600 8N1, command and reply lines ending CR LF; the gateway polls with `SI` (the weight
now), and `S` (the next stable weight) gets the same replies. Fields are separated by spaces, of varying width:

    S S     100.00 g CR LF       stable          S D      12.37 kg CR LF    dynamic (in motion)
    S + CR LF / S - CR LF        overload / underload

`S I` (busy, or no stable weight in time) and `ES` / `ET` / `EL` (syntax, transmission, logical error) are
well-formed replies without a weight (counted in `ignored_frames`); any other line is a bad frame. The reply has
no net/gross flag.
"""
import re

from canteen.scale_driver.protocols._base import UNITS, Reading, RegexDecoder, text_grams


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

