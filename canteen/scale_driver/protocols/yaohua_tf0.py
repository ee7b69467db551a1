"""耀华 XK3190 series continuous output tF=0: STX, sign, 6 digits, decimal places, XOR check (2 chars), ETX.

The frame carries no unit (kg by configuration), no net/gross and no stability flag: readings are gross, and a
reading is stable once the same value came in `stable_after` frames in a row.
"""
import re

from canteen.scale_driver.protocols import Reading, SerialDefaults
from canteen.scale_driver.protocols._base import KG, RegexDecoder, Settling, kg_fixed_point, scaled_grams, xor_check

NAME = "yaohua-tf0"
SERIAL = SerialDefaults(baudrate=9600)
POLL = None
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


def decode(data: bytes) -> list[Reading]:
    decoder = Decoder()
    return decoder.feed(data) + decoder.flush()


def encode(reading: Reading) -> bytes:
    """One frame at the finest resolution that fits; stability and net are not part of the frame."""
    if reading.grams is None:
        raise ValueError("yaohua-tf0 has no overload or underload frame")
    for mantissa, decimals in kg_fixed_point(reading.grams):
        if abs(mantissa) < 10 ** 6:
            body = b"%s%06d%d" % (b"-" if mantissa < 0 else b"+", abs(mantissa), decimals)
            return b"\x02" + body + HEX_CHECK[xor_check(body)] + b"\x03"
    raise ValueError(f"{reading.grams} g does not fit in a yaohua-tf0 frame")
