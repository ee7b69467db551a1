"""Mettler Toledo standard continuous output, usually 9600 7E1, 17 or 18 bytes:

    STX  A  B  C  w w w w w w  t t t t t t  CR  [checksum]
    02   status words   weight, 6 characters   tare, 6 characters   0D   (-sum(bytes 1-17)) & 0x7F

A: bits 0-2 decimal point code (0: x100 .. 2: x1 .. 7: 0.00001), bits 3-4 increment, bit 5 set.
B: bit 0 net, bit 1 negative, bit 2 out of range, bit 3 in motion, bit 4 kg (else lb), bit 5 set.
C: bits 0-2 unit (0: as B says, 1 g, 2 t, 3 oz), bit 5 set.
The weight and tare fields have no sign and no decimal point, padded with leading spaces or zeros.

Every byte is masked with 0x7F first (a 7E1 stream read as 8N1 has the parity in bit 7). Whether a frame carries
the checksum byte is decided frame by frame: a byte after CR that makes the 7-bit sum zero is a checksum, the next
STX is the next frame (when the checksum itself is STX, the next frame's CR position tells). A byte after CR that is
neither is a bad checksum, unless the stream has shown plain frames before (then it is garbage between frames).
An out-of-range frame is an underload when its negative bit is set, otherwise an overload.
"""
from canteen.scale_driver.protocols._base import UNITS, Reading, scaled_grams

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
        """End of input: a last frame without a following byte is taken as a frame without checksum (unless the
        stream has shown checksums); then the decoder starts clean, forgetting whether the stream had checksums."""
        readings = self._scan(self._pending, final=True)
        self._pending = b""
        self._checksummed = None
        return readings

    def _scan(self, data: bytes, final: bool) -> list[Reading]:
        readings: list[Reading] = []
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

