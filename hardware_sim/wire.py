"""The serial line: how long a byte takes at a baud rate, and the bytes a bad cable garbles or loses."""
import random
from dataclasses import dataclass

from canteen.scale_driver.protocols import SerialDefaults


def bits_per_byte(serial: SerialDefaults) -> float:
    """Start bit, data bits, parity bit if any, stop bits: 10 for 8N1 and for 7E1, 11 for 8E1."""
    return 1 + serial.bytesize + (serial.parity != "N") + serial.stopbits


def seconds_per_byte(serial: SerialDefaults) -> float:
    return bits_per_byte(serial) / serial.baudrate


@dataclass
class LineNoise:
    """Drops each byte with probability `drop_rate`, else replaces it by a different byte with `garble_rate`."""

    garble_rate: float
    drop_rate: float
    rng: random.Random

    def __post_init__(self) -> None:
        for name, rate in (("garble", self.garble_rate), ("drop", self.drop_rate)):
            if not 0 <= rate <= 1:
                raise ValueError(f"the {name} rate must be between 0 and 1, not {rate}")

    def apply(self, data: bytes) -> bytes:
        if not (self.garble_rate or self.drop_rate):
            return data
        out = bytearray()
        for byte in data:
            if self.rng.random() < self.drop_rate:
                continue
            if self.rng.random() < self.garble_rate:
                byte ^= self.rng.randint(1, 255)
            out.append(byte)
        return bytes(out)
