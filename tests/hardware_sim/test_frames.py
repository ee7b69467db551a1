"""The emulator's own frame writers: the reference's frames reproduced byte for byte, every output variant read back
by the driver's decoder, and the emulator's line settings agreeing with the driver's registry."""
import pytest

from canteen.scale_driver import protocols
from canteen.scale_driver.protocols import Reading
from canteen.scale_driver.protocols.yaohua_a12 import Decoder as A12Decoder
from hardware_sim import frames
from hardware_sim.frames import (
    AsciiLines,
    MettlerSics,
    ToledoContinuous,
    YaohuaA12Lines,
    YaohuaA12LowerCase,
    YaohuaA12Screen,
    YaohuaTf0,
)

STABLE, MOTION = Reading(12_340, True), Reading(12_340, False)
OVER, UNDER = Reading(None, False, overload=True), Reading(None, False, underload=True)


def test_the_emulator_speaks_the_driver_s_protocols_with_the_same_line_settings() -> None:
    assert list(frames.FORMATS) == protocols.names()
    for name, line_format in frames.FORMATS.items():
        driver = protocols.get(name)
        assert line_format.serial == driver.serial, name
        assert isinstance(line_format.writer(), frames.Responder) == (driver.poll is not None), name


def test_the_first_variant_is_the_factory_setting() -> None:
    assert {name: line_format.default_variant for name, line_format in frames.FORMATS.items()} == {
        "yaohua-tf0": "hex-check", "yaohua-a12": "w-lines", "toledo-continuous": "checksum", "mt-sics": "kg",
        "ascii-st-gs": "plain"}
    assert frames.get("toledo-continuous").writer() == ToledoContinuous()


def test_unknown_protocols_and_variants_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown scale protocol 'nope'; known: yaohua-tf0, "):
        frames.get("nope")
    with pytest.raises(ValueError, match="unknown variant 'fancy'; this protocol has hex-check, offset-check"):
        frames.get("yaohua-tf0").writer("fancy")


# Frames from the protocol reference (scale-protocols.md); the writer is set up as that indicator was.
@pytest.mark.parametrize(("writer", "reading", "frame"), [
    (YaohuaTf0(decimals=0), Reading(0, True), b"\x02+00000001B\x03"),  # real capture
    (YaohuaTf0(decimals=0), Reading(1_560_000, True), b"\x02+001560019\x03"),  # real capture
    (YaohuaTf0(decimals=2), Reading(12_500, True), b"\x02+00125021F\x03"),
    (YaohuaTf0(decimals=2, offset_check=True), Reading(12_500, True), b"\x02+00125021?\x03"),  # 0x1F: "1", 0x30 + 15
    (YaohuaA12Screen(), Reading(3000, True), b"=000.3000"),  # real, manual
    (YaohuaA12Screen(decimals=2), Reading(12_500, True), b"=05.21000"),
    (YaohuaA12Screen(reversed_order=False), Reading(-12_500, True), b"=-012.500"),
    (YaohuaA12Lines(), Reading(4139, True), b"WG004.139kg3D\r\n"),  # real, manual
    (YaohuaA12Lines(), Reading(12_500, True, net=True), b"WN012.500kg3D\r\n"),
    (YaohuaA12Lines(), OVER, b"         OL23\r\n"),  # real, manual
    (YaohuaA12Lines(), UNDER, b"         LO23\r\n"),
    (YaohuaA12LowerCase(), Reading(0, True), b"ww000.000kg\n"),
    (YaohuaA12LowerCase(decimals=1), Reading(-100, True, net=True), b"wn-0000.1kg\n"),
    (ToledoContinuous(decimals=2), STABLE, b"\x02,0   1234     0\r\x1b"),
    (ToledoContinuous(decimals=2), MOTION, b"\x02,8   1234     0\r\x13"),
    (ToledoContinuous(decimals=2, checksum=False), STABLE, b"\x02,0   1234     0\r"),
    (MettlerSics(unit="g", decimals=2), Reading(100, True), b"S S     100.00 g\r\n"),  # real text, manual
    (MettlerSics(decimals=2), Reading(12_370, False), b"S D      12.37 kg\r\n"),
    (MettlerSics(), OVER, b"S +\r\n"),
    (MettlerSics(), UNDER, b"S -\r\n"),
    (AsciiLines(width=7), Reading(876, True, net=True), b"ST,NT,+000.876kg\r\n"),  # real, manual
    (AsciiLines(), Reading(12_345, True), b"ST,GS,+0012.345kg\r\n"),
])
def test_reference_frames(writer: frames.Writer, reading: Reading, frame: bytes) -> None:
    assert writer.frame(reading) == frame


# The other variants, each byte worked out by hand from the layouts in the reference.
@pytest.mark.parametrize(("writer", "reading", "frame"), [
    (ToledoContinuous(decimals=2, parity=True), STABLE, bytes((
        0x82, 0xAC, 0x30, 0xA0,  # STX (one bit set: parity 1), "," (3 bits), "0" (2 bits), " " (1 bit)
        0xA0, 0xA0, 0xB1, 0xB2, 0x33, 0xB4,  # "  1234": "1" and "2" and "4" have 3 bits, "3" has 4
        0xA0, 0xA0, 0xA0, 0xA0, 0xA0, 0x30,  # "     0"
        0x8D, 0x1B))),  # CR (3 bits), the checksum 0x1B (4 bits)
    # word A 0x2A (x1, increment x1), B 0x20 (no kg bit: word C decides), C 0x21 (grams);
    # sum 2+42+32+33 + 3*32+49+50+51 + 5*32+48 + 13 = 576 = 4*128 + 64, so the checksum is 128 - 64 = 64, "@"
    (ToledoContinuous(grams_unit=True), Reading(123, True), b"\x02* !   123     0\r@"),
    # A 0x2D (0.001 kg), B 0x20|0x10 kg|0x08 motion|0x04 out of range = 0x3C, and 0x02 negative for underload
    (ToledoContinuous(checksum=False), OVER, b"\x02-< \x20\x20\x20\x20\x20\x30\x20\x20\x20\x20\x20\x30\r"),
    (ToledoContinuous(checksum=False), UNDER, b"\x02-> \x20\x20\x20\x20\x20\x30\x20\x20\x20\x20\x20\x30\r"),
    (ToledoContinuous(checksum=False, tare_g=1500), Reading(-250, True, net=True),
     b"\x02-3    250  1500\r"),  # B 0x20|0x10|0x02 negative|0x01 net = 0x33
    # "-0123453": 0x2D^0x30 = 0x1D, ^"1" 0x2C, ^"2" 0x1E, ^"3" 0x2D, ^"4" 0x19, ^"5" 0x2C, ^"3" 0x1F
    (YaohuaTf0(), Reading(-12_345, True), b"\x02-01234531F\x03"),
    # "WN-00.100kg": W^N 0x19, ^"-" 0x34, ^"0" 0x04, ^"0" 0x34, ^"." 0x1A, ^"1" 0x2B, ^"0" 0x1B, ^"0" 0x2B,
    # ^"k" 0x40, ^"g" 0x27
    (YaohuaA12Lines(), Reading(-100, True, net=True), b"WN-00.100kg27\r\n"),
    (AsciiLines(address="01"), Reading(12_345, True), b"01ST,GS,+0012.345kg\r\n"),
    (AsciiLines(unit_comma=True), Reading(12_345, False, net=True), b"US,NT,+0012.345,kg\r\n"),
    (AsciiLines(plus=" "), Reading(12_345, True), b"ST,GS, 0012.345kg\r\n"),
    (AsciiLines(pad=" "), Reading(-45, True), b"ST,GS,-   0.045kg\r\n"),
    (AsciiLines(unit="g", decimals=0), Reading(12_345, True), b"ST,GS,+00012345g\r\n"),
    (AsciiLines(unit="lb"), Reading(12_345, True), b"ST,GS,+0027.216lb\r\n"),  # 12345 / 453.59237 = 27.2161
    (AsciiLines(), OVER, b"OL,GS,+9999.999kg\r\n"),
    (MettlerSics(unit="g", decimals=0), Reading(-20, True), b"S S        -20 g\r\n"),
])
def test_variant_frames(writer: frames.Writer, reading: Reading, frame: bytes) -> None:
    assert writer.frame(reading) == frame


@pytest.mark.parametrize("writer", [YaohuaTf0(), YaohuaA12Screen(), YaohuaA12LowerCase()])
def test_formats_without_an_overload_frame_fall_silent(writer: frames.Writer) -> None:
    assert writer.frame(OVER) == writer.frame(UNDER) == b""


def test_what_does_not_fit_is_not_sent() -> None:
    assert YaohuaTf0().frame(Reading(1_000_000, True)) == b""  # 1000.000 kg: 7 digits
    assert YaohuaA12Lines().frame(Reading(-100_000, True)) == b""  # -100.000 kg: 8 characters


def test_lower_case_firmware_sends_a_tare_line_now_and_then_when_net() -> None:
    writer = YaohuaA12LowerCase(tare_g=1500, tare_every=2)
    assert [writer.frame(Reading(40, True, net=True)) for _ in range(2)] == [
        b"wn000.040kg\n", b"wn000.040kg\nwt001.500kg\n"]
    assert writer.frame(Reading(40, True)) == b"ww000.040kg\n"


def test_sics_answers_commands() -> None:
    scale = MettlerSics(stable_timeout_s=2)
    assert scale.reply(b"SI", Reading(12_370, False), 0) == b"S D     12.370 kg\r\n"
    assert scale.reply(b"S", Reading(12_370, True), 0) == b"S S     12.370 kg\r\n"
    assert scale.reply(b"S", Reading(12_370, False), 1.9) is None  # waits for a stable weight
    assert scale.reply(b"S", Reading(12_370, False), 2) == b"S I\r\n"  # and gives up
    assert scale.reply(b"S", OVER, 0) == b"S +\r\n"
    assert scale.reply(b"TA", Reading(0, True), 0) == b"ES\r\n"


SAMPLE = [Reading(grams, stable, net) for grams in (0, 5, 380, 12_345, 29_999, -17, -1500)
          for stable in (True, False) for net in (False, True)] + [OVER, UNDER]


def carried(protocol: str, variant: str, reading: Reading) -> tuple[int | None, bool, bool, bool] | None:
    """What a frame of this variant tells the driver about `reading` (by the reference), None if it is not sent."""
    limits = protocol in ("toledo-continuous", "mt-sics", "ascii-st-gs") or variant == "w-lines"
    if reading.grams is None and not limits:
        return None
    net = reading.net and protocol not in ("mt-sics", "yaohua-tf0") and not variant.startswith("screen")
    return reading.grams, net, reading.overload, reading.underload


@pytest.mark.parametrize(("protocol", "variant"), [(protocol, variant) for protocol, line_format in
                                                   frames.FORMATS.items() for variant in line_format.variants])
def test_the_driver_reads_every_variant(protocol: str, variant: str) -> None:
    writer = frames.get(protocol).writer(variant, tare_g=1500)
    stream = b"".join(writer.frame(reading) for reading in SAMPLE)
    decoder = A12Decoder(reversed_value=False) if variant == "screen-forward" else protocols.get(protocol).decoder()
    readings = decoder.feed(stream) + decoder.flush()
    expected = [fields for fields in (carried(protocol, variant, reading) for reading in SAMPLE) if fields]
    assert [(reading.grams, reading.net, reading.overload, reading.underload) for reading in readings] == expected
    assert decoder.bad_frames == 0
    if protocol in ("toledo-continuous", "mt-sics", "ascii-st-gs"):  # the ones with a stability flag
        assert [reading.stable for reading in readings] == [reading.stable for reading in SAMPLE
                                                            if carried(protocol, variant, reading)]
