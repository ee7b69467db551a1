"""耀华 XK3190 series (A9, A9+, D9, DS1, A26) continuous output tF=0, 12 bytes at 9600 8N1:

    STX  sign  d d d d d d  places  check-hi check-lo  ETX
    02   +/-   6 ASCII digits, no decimal point   XOR of the 8 bytes sign..places, as 2 characters   03

The check is two uppercase hex digits, or on some models 0x30 + each nibble (':'..'?' for 10..15): both are read.
The frame carries no unit (kg by configuration), no net/gross and no stability flag: readings are gross, and a
reading is stable once `stable_after` frames in a row lie within 2 g. There is no overload frame.
"""
import re

from canteen.scale_driver.protocols._base import KG, Reading, RegexDecoder, Settling, scaled_grams, xor_check

STABLE_AFTER = 5  # 5 frames: ~60 ms at 9600 baud, 0.5 s at 1200 baud

# Check digits: uppercase hex, or 0x30 + nibble (':'..'?' for 10..15) on some models.
HEX_CHECK = [b"%02X" % value for value in range(256)]
OFFSET_CHECK = [bytes((0x30 + (value >> 4), 0x30 + (value & 0xF))) for value in range(256)]


class Decoder(RegexDecoder):
    pattern = re.compile(rb"\x02[+-]\d{6}[0-4]([0-9A-F:;<=>?]{2})\x03")
    max_frame = 12
    marks = (b"\x02",)

    def __init__(self, stable_after: int = STABLE_AFTER) -> None:
        super().__init__()
        self._settling = Settling(stable_after)

    def _reading(self, match: re.Match[bytes]) -> Reading | None:
        frame = match.group()
        check = xor_check(frame[1:9])
        if match.group(1) not in (HEX_CHECK[check], OFFSET_CHECK[check]):
            self.bad_frames += 1
            return None
        magnitude = int(frame[2:8])
        grams = scaled_grams(-magnitude if frame[1] == 0x2D else magnitude, frame[8] - 0x30, KG)
        return Reading(grams, self._settling.stable(grams, False), False, False, False, frame)

    def _reset(self) -> None:
        self._settling.reset()
