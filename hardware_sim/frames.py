"""What the emulated indicators send: one frame writer per protocol and output variant, and the line settings.

Written from the indicators' documentation (the protocol reference the project keeps with its shared notes,
scale-protocols.md), on purpose without the scale driver's code: the driver's decoders are tested against these
frames, so a misreading of a layout would have to be made twice, independently, to go unnoticed.

A writer turns what the indicator shows (a `Reading`: grams, or overload / underload; stable; net) into the bytes
of one frame, or b"" when its format has no frame for that reading (the indicator then sends nothing, as a
yaohua-tf0 does while overloaded). The indicators here divide in 1 g and show kg with three decimals unless a
variant says otherwise (`decimals` and the other fields are there to reproduce the reference's own frames).
`mt-sics` is not streamed but answers commands: its writer is also a `Responder`.
"""
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Protocol, runtime_checkable

from canteen.scale_driver.protocols import Reading, SerialDefaults

STX, ETX, CR, LF = 0x02, 0x03, 0x0D, 0x0A
HEX_DIGITS = "0123456789ABCDEF"
KG = Fraction(1000)  # grams per unit
GRAM = Fraction(1)
POUND = Fraction(45_359_237, 100_000)


class Writer(Protocol):
    @property
    def frame_bytes(self) -> int:
        """The length of a usual frame: how long one keeps the line busy."""
        ...

    def frame(self, reading: Reading) -> bytes: ...


@runtime_checkable
class Responder(Protocol):
    def reply(self, command: bytes, reading: Reading, waited_s: float) -> bytes | None:
        """The reply to one command line (without its line end) that arrived `waited_s` ago, given what the
        indicator shows now; None while the reply must wait (for a stable weight)."""
        ...


def _rounded(value: Fraction) -> int:
    """`value` (not negative) to the nearest whole number, halves up: how an indicator rounds its display."""
    whole = int(value)
    return whole + 1 if value - whole >= Fraction(1, 2) else whole


def _digits(grams: int, decimals: int, per_unit: Fraction = KG) -> str:
    """The magnitude of `grams` in units of `per_unit` grams with `decimals` decimals: 12345 g -> "12.345" (kg, 3)."""
    shown = str(_rounded(abs(grams) / per_unit * 10 ** decimals)).rjust(decimals + 1, "0")
    return f"{shown[:-decimals]}.{shown[-decimals:]}" if decimals else shown


def _xor(data: bytes) -> int:
    check = 0
    for byte in data:
        check ^= byte
    return check


def _even_parity(data: bytes) -> bytes:
    """Each 7-bit byte with its even-parity bit as bit 7: a 7E1 line as a port opened at 8N1 reads it."""
    return bytes(byte | (bin(byte).count("1") & 1) << 7 for byte in data)


@dataclass
class YaohuaTf0:
    """耀华 XK3190 tF=0: STX, sign, 6 digits without a point, number of decimals, XOR of the sign..decimals bytes as
    two characters (uppercase hex, or 0x30 + each nibble on some models), ETX. No overload frame."""

    offset_check: bool = False
    decimals: int = 3
    frame_bytes: int = 12

    def frame(self, reading: Reading) -> bytes:
        if reading.grams is None:
            return b""
        digits = _digits(reading.grams, self.decimals).replace(".", "").rjust(6, "0")
        if len(digits) > 6:
            return b""
        body = ("-" if reading.grams < 0 else "+") + digits + str(self.decimals)
        high, low = divmod(_xor(body.encode("ascii")), 16)
        check = chr(0x30 + high) + chr(0x30 + low) if self.offset_check else HEX_DIGITS[high] + HEX_DIGITS[low]
        return bytes((STX,)) + (body + check).encode("ascii") + bytes((ETX,))


@dataclass
class YaohuaA12Screen:
    """耀华 A12 "=" big-screen output: `=` and 8 characters, the sign (`0` or `-`) and the 7-character display value
    with its decimal point; reversed (least significant character first, sign last) unless `reversed_order` is
    off. No line end, no check, no net flag, no overload frame."""

    reversed_order: bool = True
    decimals: int = 3
    frame_bytes: int = 9

    def frame(self, reading: Reading) -> bytes:
        if reading.grams is None:
            return b""
        value = _digits(reading.grams, self.decimals).rjust(7, "0")
        if len(value) > 7:
            return b""
        shown = ("-" if reading.grams < 0 else "0") + value
        return b"=" + (shown[::-1] if self.reversed_order else shown).encode("ascii")


def _a12_value(grams: int, decimals: int) -> str | None:
    """7 characters with the decimal point, zero-padded, a leading `-` when negative; None if it does not fit."""
    digits = _digits(grams, decimals)
    value = "-" + digits.rjust(6, "0") if grams < 0 else digits.rjust(7, "0")
    return value if len(value) == 7 else None


@dataclass
class YaohuaA12Lines:
    """耀华 A12 "W" lines: `W`, `G` or `N`, 7-character value, `kg`, XOR of those 11 bytes as 2 uppercase hex digits,
    CR LF; overload and underload are 9 spaces, `OL` or `LO`, `23`, CR LF."""

    decimals: int = 3
    frame_bytes: int = 15

    def frame(self, reading: Reading) -> bytes:
        if reading.overload:
            return b"         OL23\r\n"
        if reading.underload:
            return b"         LO23\r\n"
        value = None if reading.grams is None else _a12_value(reading.grams, self.decimals)
        if value is None:
            return b""
        line = ("W" + ("N" if reading.net else "G") + value + "kg").encode("ascii")
        return line + f"{_xor(line):02X}".encode("ascii") + b"\r\n"


@dataclass
class YaohuaA12LowerCase:
    """耀华 A12 firmware that sends lower-case lines without a check, LF-terminated: `ww` gross, `wn` net, and now
    and then a `wt` line with the tare the indicator holds. No overload line (it falls silent)."""

    tare_g: int = 0
    tare_every: int = 10  # a `wt` line after every this many net lines while a tare is held
    decimals: int = 3
    frame_bytes: int = 12
    _net_lines: int = field(default=0, init=False)

    def frame(self, reading: Reading) -> bytes:
        value = None if reading.grams is None else _a12_value(reading.grams, self.decimals)
        if value is None:
            return b""
        line = ("wn" if reading.net else "ww") + value + "kg\n"
        if reading.net and self.tare_g:
            self._net_lines += 1
            tare = _a12_value(self.tare_g, self.decimals)
            if self._net_lines % self.tare_every == 0 and tare is not None:
                line += "wt" + tare + "kg\n"
        return line.encode("ascii")


@dataclass
class ToledoContinuous:
    """Mettler Toledo standard continuous output: STX, status words A, B, C, weight and tare (6 characters each,
    no sign, no point, leading spaces), CR, and optionally a checksum byte making the 7-bit sum of the frame 0.

    A: bit 5, increment x1 (bits 3-4 = 01), decimal point code (bits 0-2: 2 + decimals, so 5 is 0.001).
    B: bit 5, bit 4 kg, bit 3 in motion, bit 2 out of range, bit 1 negative, bit 0 net.
    C: bit 5, unit in bits 0-2 (0: as word B says, 1: grams).
    """

    checksum: bool = True
    parity: bool = False  # send the even-parity bit of the 7E1 line as bit 7 of each byte
    grams_unit: bool = False  # word C says g: the weight in grams, decimal point code 2 (x1)
    decimals: int = 3  # of kg, unless in grams
    tare_g: int = 0

    @property
    def frame_bytes(self) -> int:
        return 18 if self.checksum else 17

    def frame(self, reading: Reading) -> bytes:
        decimals, per_unit = (0, GRAM) if self.grams_unit else (self.decimals, KG)
        status_a = 0x20 | 0b01 << 3 | (decimals + 2)
        status_b = 0x20 | (0 if self.grams_unit else 0x10) | (not reading.stable) << 3 | reading.net
        if reading.overload or reading.underload:
            status_b |= 0x04 | reading.underload << 1
            weight = "0"
        elif reading.grams is None:
            return b""
        else:
            status_b |= (reading.grams < 0) << 1
            weight = _digits(reading.grams, decimals, per_unit).replace(".", "").lstrip("0") or "0"
        tare = _digits(self.tare_g, decimals, per_unit).replace(".", "").lstrip("0") or "0"
        if len(weight) > 6 or len(tare) > 6:
            return b""
        status_c = 0x20 | (1 if self.grams_unit else 0)
        frame = bytes((STX, status_a, status_b, status_c)) + (weight.rjust(6) + tare.rjust(6)).encode("ascii")
        frame += bytes((CR,))
        if self.checksum:
            frame += bytes(((0x80 - sum(frame) % 0x80) % 0x80,))
        return _even_parity(frame) if self.parity else frame


@dataclass
class MettlerSics:
    """Mettler Toledo SICS replies, CR LF terminated, fields separated by spaces: `S S value unit` (stable),
    `S D value unit` (dynamic), `S +` / `S -` (overload / underload), `S I` (not executable now), `ES` (syntax).

    `SI` is answered at once; `S` when the weight is stable (or over/underloaded), `S I` if it did not settle
    within `stable_timeout_s`; anything else (`Z`, `T`, `TA`: not emulated) with `ES`.
    """

    unit: str = "kg"
    decimals: int = 3
    stable_timeout_s: float = 3.0
    frame_bytes: int = 19

    def frame(self, reading: Reading) -> bytes:
        if reading.overload:
            return b"S +\r\n"
        if reading.underload:
            return b"S -\r\n"
        if reading.grams is None:
            return b"S I\r\n"
        per_unit = KG if self.unit == "kg" else GRAM
        value = ("-" if reading.grams < 0 else "") + _digits(reading.grams, self.decimals, per_unit)
        return f"S {'S' if reading.stable else 'D'} {value:>10} {self.unit}\r\n".encode("ascii")

    def reply(self, command: bytes, reading: Reading, waited_s: float) -> bytes | None:
        if command == b"SI":
            return self.frame(reading)
        if command == b"S":
            if reading.stable or reading.overload or reading.underload:
                return self.frame(reading)
            return b"S I\r\n" if waited_s >= self.stable_timeout_s else None
        return b"ES\r\n"


@dataclass
class AsciiLines:
    """`status,mode,sign value unit` CR LF: ST stable / US unstable / OL overload / UL underload, GS gross / NT net,
    the value with its decimal point zero- (or space-) padded to `width`, the unit; variants add an RS-485 address
    before the status, a comma before the unit, or a space instead of `+`. Over/underload lines show all 9s."""

    address: str = ""
    unit_comma: bool = False
    plus: str = "+"
    pad: str = "0"
    unit: str = "kg"
    decimals: int = 3
    width: int = 8
    frame_bytes: int = 19

    def frame(self, reading: Reading) -> bytes:
        mode = "NT" if reading.net else "GS"
        if reading.overload or reading.underload:
            status, sign = ("OL", "+") if reading.overload else ("UL", "-")
            nines = "9" * (self.width - self.decimals - (1 if self.decimals else 0))
            value = nines + ("." + "9" * self.decimals if self.decimals else "")
        elif reading.grams is None:
            return b""
        else:
            status = "ST" if reading.stable else "US"
            sign = "-" if reading.grams < 0 else self.plus
            per_unit = {"kg": KG, "g": GRAM, "lb": POUND}[self.unit]
            value = _digits(reading.grams, self.decimals, per_unit).rjust(self.width, self.pad)
            if len(value) > self.width:
                return b""
        separator = "," if self.unit_comma else ""
        return f"{self.address}{status},{mode},{sign}{value}{separator}{self.unit}\r\n".encode("ascii")


WriterFactory = Callable[[int], Writer]  # the tare the indicator holds (g) -> a writer


@dataclass(frozen=True)
class Format:
    """One protocol as the emulator speaks it: the line settings and the output variants (the first is the
    indicator's factory setting)."""

    serial: SerialDefaults
    variants: Mapping[str, WriterFactory]

    @property
    def default_variant(self) -> str:
        return next(iter(self.variants))

    def writer(self, variant: str | None = None, tare_g: int = 0) -> Writer:
        name = variant or self.default_variant
        if name not in self.variants:
            raise ValueError(f"unknown variant {name!r}; this protocol has {', '.join(self.variants)}")
        return self.variants[name](tare_g)


LINE_8N1 = SerialDefaults(9600, 8, "N", 1)

FORMATS: dict[str, Format] = {
    "yaohua-tf0": Format(LINE_8N1, {
        "hex-check": lambda tare_g: YaohuaTf0(),
        "offset-check": lambda tare_g: YaohuaTf0(offset_check=True),
    }),
    "yaohua-a12": Format(LINE_8N1, {
        "w-lines": lambda tare_g: YaohuaA12Lines(),
        "screen": lambda tare_g: YaohuaA12Screen(),
        "screen-forward": lambda tare_g: YaohuaA12Screen(reversed_order=False),
        "lower-case": lambda tare_g: YaohuaA12LowerCase(tare_g=tare_g),
    }),
    "toledo-continuous": Format(SerialDefaults(9600, 7, "E", 1), {
        "checksum": lambda tare_g: ToledoContinuous(tare_g=tare_g),
        "no-checksum": lambda tare_g: ToledoContinuous(checksum=False, tare_g=tare_g),
        "checksum-parity": lambda tare_g: ToledoContinuous(parity=True, tare_g=tare_g),
        "no-checksum-parity": lambda tare_g: ToledoContinuous(checksum=False, parity=True, tare_g=tare_g),
        "grams": lambda tare_g: ToledoContinuous(grams_unit=True, tare_g=tare_g),
    }),
    "mt-sics": Format(LINE_8N1, {
        "kg": lambda tare_g: MettlerSics(),
        "g": lambda tare_g: MettlerSics(unit="g", decimals=0),
    }),
    "ascii-st-gs": Format(LINE_8N1, {
        "plain": lambda tare_g: AsciiLines(),
        "address": lambda tare_g: AsciiLines(address="01"),
        "unit-comma": lambda tare_g: AsciiLines(unit_comma=True),
        "space-sign": lambda tare_g: AsciiLines(plus=" "),
        "space-padded": lambda tare_g: AsciiLines(pad=" "),
        "g": lambda tare_g: AsciiLines(unit="g", decimals=0),
        "lb": lambda tare_g: AsciiLines(unit="lb"),
    }),
}


def get(protocol: str) -> Format:
    try:
        return FORMATS[protocol]
    except KeyError:
        raise ValueError(f"unknown scale protocol {protocol!r}; known: {', '.join(FORMATS)}") from None
