"""Mettler Toledo standard continuous output: STX, status words A B C, weight (6), tare (6), CR, optional checksum.

Every byte is masked with 0x7F first (a 7E1 stream read as 8N1 has the parity in bit 7). Whether a frame carries
the checksum byte is decided frame by frame: a byte after CR that makes the 7-bit sum zero is a checksum, the next
STX is the next frame (when the checksum itself is STX, the next frame's CR position tells). A byte after CR that is
neither is a bad checksum, unless the stream has shown plain frames before (then it is garbage between frames).
An out-of-range frame is an underload when its negative bit is set, otherwise an overload.
"""
from canteen.scale_driver.protocols import Reading, SerialDefaults
from canteen.scale_driver.protocols._base import UNITS, kg_fixed_point, scaled_grams

NAME = "toledo-continuous"
SERIAL = SerialDefaults(baudrate=9600, bytesize=7, parity="E")
POLL = None

STX, CR = 0x02, 0x0D
PLAIN = 17  # STX .. CR
CHECKED = 18  # with the checksum byte
MASK = bytes(value & 0x7F for value in range(256))
FIELD = b" 0123456789"
# Word C unit codes; 0 means word B decides (bit 4: kg, else lb).
UNIT_CODES = {1: UNITS[b"g"], 2: UNITS[b"t"], 3: UNITS[b"oz"]}


class Decoder:
    def __init__(self) -> None:
        self.bad_frames = 0
        self.ignored_frames = 0
        self._pending = b""
        self._checksummed: bool | None = None

    def feed(self, chunk: bytes) -> list[Reading]:
        return self._scan(self._pending + chunk.translate(MASK), final=False)

    def flush(self) -> list[Reading]:
        """End of input: a last frame without a following byte is taken as a frame without checksum."""
        return self._scan(self._pending, final=True)

    def _scan(self, data: bytes, final: bool) -> list[Reading]:
        readings = []
        start = data.find(STX)
        while start >= 0:
            length = self._length(data, start, final)
            if length is None:
                break
            if length:
                reading = self._reading(data[start:start + length])
                if reading is not None:
                    readings.append(reading)
            else:
                self.bad_frames += 1
                length = 1
            start = data.find(STX, start + length)
        self._pending = b"" if start < 0 or final else data[start:]
        return readings

    def _length(self, data: bytes, start: int, final: bool) -> int | None:
        """Frame length at `start`, 0 for a broken frame, None when more bytes are needed."""
        size = len(data) - start
        if size < PLAIN:
            return 0 if final else None
        if data[start + PLAIN - 1] != CR:
            return 0
        if size == PLAIN:
            if not final:
                return None
            return PLAIN if self._checksummed is not True else 0
        checksum_ok = sum(data[start:start + CHECKED]) & 0x7F == 0
        if data[start + PLAIN] != STX:
            if checksum_ok:
                self._checksummed = True
                return CHECKED
            return PLAIN if self._checksummed is False else 0
        next_plain_cr = start + 2 * PLAIN - 1  # where the next frame's CR is when this frame has no checksum
        if len(data) > next_plain_cr and data[next_plain_cr] == CR:
            self._checksummed = False
            return PLAIN
        if len(data) > next_plain_cr + 1 and data[next_plain_cr + 1] == CR:
            self._checksummed = True
            return CHECKED if checksum_ok else 0
        if len(data) <= next_plain_cr + 1 and not final:
            return None
        if checksum_ok:
            return CHECKED
        return PLAIN if self._checksummed is not True else 0

    def _reading(self, frame: bytes) -> Reading | None:
        a, b, c = frame[1], frame[2], frame[3]
        if not a & b & c & 0x20:
            self.bad_frames += 1
            return None
        net, negative, out_of_range, motion = b & 1, b & 2, b & 4, b & 8
        if out_of_range:
            return Reading(None, False, bool(net), not negative, bool(negative), frame)
        weight, tare = frame[4:10], frame[10:16]
        if weight.strip(FIELD) or tare.strip(FIELD):
            self.bad_frames += 1
            return None
        unit = UNIT_CODES.get(c & 7) if c & 7 else UNITS[b"kg" if b & 0x10 else b"lb"]
        if unit is None:
            self.ignored_frames += 1
            return None
        digits = weight.lstrip(b" ")
        if not digits.isdigit():
            self.bad_frames += 1
            return None
        magnitude = int(digits)
        grams = scaled_grams(-magnitude if negative else magnitude, (a & 7) - 2, unit)
        return Reading(grams, not motion, bool(net), False, False, frame)


def decode(data: bytes) -> list[Reading]:
    decoder = Decoder()
    return decoder.feed(data) + decoder.flush()


def encode(reading: Reading, checksum: bool = True) -> bytes:
    """One frame in kg at the finest resolution that fits, tare 0."""
    status_b = 0x30 | reading.net | (not reading.stable) << 3
    if reading.overload or reading.underload:
        status_b |= 0x04 | reading.underload << 1
        mantissa, decimals = 0, 3
    elif reading.grams is None:
        raise ValueError("a reading without overload or underload needs grams")
    else:
        mantissa, decimals = next(((value, places) for value, places in kg_fixed_point(reading.grams)
                                   if abs(value) < 10 ** 6), (None, 0))
        if mantissa is None:
            raise ValueError(f"{reading.grams} g does not fit in a toledo-continuous frame")
        status_b |= (mantissa < 0) << 1
    status_a = 0x28 | (decimals + 2)  # increment x1, decimal point code
    frame = bytes((STX, status_a, status_b, 0x20)) + b"%6d%6d\r" % (abs(mantissa), 0)
    return frame + bytes(((-sum(frame)) & 0x7F,)) if checksum else frame
