"""耀华 A12 / A12E / A22 / A26 text outputs at 9600 8N1, detected frame by frame in one stream.

- "=" big-screen frames, 9 bytes, no line end, no check: `=` and 8 characters, by default reversed (the display
  value with its decimal point, least significant character first, then the sign `0` or `-`):
      = 0 0 0 . 3 0 0 0      reversed: "0003.000", i.e. sign "0", value "003.000" = 3.000 kg
  `Decoder(reversed_value=False)` reads the non-reversed mode (`=`, sign, value high to low).
- "W" lines, 15 bytes: `W`, `G`/`N`, 7-character value with its decimal point (a leading `-` when negative),
  `kg`, the XOR of those 11 bytes as two uppercase hex digits, CR LF:
      W G 0 0 4 . 1 3 9 k g 3 D CR LF      gross 4.139 kg
  Overload is 9 spaces, `OL23`, CR LF; underload 9 spaces, `LO23`, CR LF.
- lower-case lines without a check, LF (or CR LF) terminated: `ww` gross, `wn` net, `wt` tare (not a reading).

No frame has a stability flag: a reading is stable once `stable_after` frames in a row lie within 2 g.
"=" frames carry no unit (kg by configuration) and no net flag (readings are gross).
"""
import re

from canteen.scale_driver.protocols._base import KG, Reading, RegexDecoder, Settling, text_grams, xor_check

STABLE_AFTER = 5

POSITIVE_SIGNS = (0x30, 0x20)  # "0", " "
LIMIT_LINES = {b"OL": (True, False), b"LO": (False, True)}


class Decoder(RegexDecoder):
    pattern = re.compile(
        rb"=(?P<screen>[0-9. -]{8})"
        rb"|W(?P<mode>[GN])(?P<value>[0-9. -]{7})kg(?P<check>[0-9A-F]{2})\r\n"
        rb"| {9}(?P<limit>OL|LO)23\r\n"
        rb"|w(?P<lower_mode>[wnt])(?P<lower_value>[0-9. -]{7})kg\r?\n")
    max_frame = 15
    marks = (b"=", b"\n")

    def __init__(self, stable_after: int = STABLE_AFTER, reversed_value: bool = True) -> None:
        super().__init__()
        self._settling = Settling(stable_after)
        self._reversed = reversed_value

    def _reading(self, match: re.Match[bytes]) -> Reading | None:
        screen, mode, value, check, limit, lower_mode, lower_value = match.groups()
        frame = match.group()
        if screen is not None:
            text = screen[::-1] if self._reversed else screen
            if text[0] not in POSITIVE_SIGNS and text[0] != 0x2D:
                return self._bad()
            return self._weight(b"-" + text[1:] if text[0] == 0x2D else text[1:], False, frame)
        if mode is not None:
            if check != b"%02X" % xor_check(frame[:11]):
                return self._bad()
            return self._weight(value, mode == b"N", frame)
        if limit is not None:
            self._settling.reset()
            overload, underload = LIMIT_LINES[limit]
            return Reading(None, False, False, overload, underload, frame)
        if lower_mode == b"t":
            self.ignored_frames += 1
            return None
        return self._weight(lower_value, lower_mode == b"n", frame)

    def _weight(self, text: bytes, net: bool, frame: bytes) -> Reading | None:
        try:
            grams = text_grams(text, KG)
        except ValueError:
            return self._bad()
        return Reading(grams, self._settling.stable(grams, net), net, False, False, frame)

    def _bad(self) -> Reading | None:
        self.bad_frames += 1
        return None

    def _reset(self) -> None:
        self._settling.reset()

