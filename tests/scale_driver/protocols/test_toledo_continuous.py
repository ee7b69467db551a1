"""toledo-continuous: status words, units, decimal codes, parity masking, optional checksum, resynchronisation,
round trips against the simulator's frame writer."""
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from canteen.scale_driver.protocols import Reading, SerialDefaults, get
from canteen.scale_driver.protocols.toledo_continuous import Decoder
from hardware_sim.frames import ToledoContinuous

toledo = get("toledo-continuous")

STABLE_KG = b"\x02,0   1234     0\r\x1b"
MOTION_KG = b"\x02,8   1234     0\r\x13"
PLAIN_KG = b"\x02,0   1234     0\r"
CHECKSUM_IS_STX = b"\x02,0   8999     0\r\x02"  # 89.99 kg, whose checksum byte happens to be STX


def frame(a: int, b: int, c: int, weight: bytes, tare: bytes = b"     0", checksum: bool = True) -> bytes:
    body = b"\x02" + bytes((a, b, c)) + weight + tare + b"\r"
    return body + bytes(((-sum(body)) & 0x7F,)) if checksum else body


def with_even_parity(data: bytes) -> bytes:
    return bytes(byte | (bin(byte).count("1") % 2) << 7 for byte in data)


def fields(readings: list[Reading]) -> list[tuple[int | None, bool, bool, bool, bool]]:
    return [(reading.grams, reading.stable, reading.net, reading.overload, reading.underload) for reading in readings]


@pytest.mark.parametrize(("raw", "stable"), [(STABLE_KG, True), (MOTION_KG, False), (PLAIN_KG, True)])
def test_reference_frames(raw: bytes, stable: bool) -> None:
    assert toledo.decode(raw) == [Reading(12_340, stable, raw=raw)]


def test_serial_defaults_are_7e1() -> None:
    assert toledo.serial == SerialDefaults(9600, 7, "E", 1)
    assert toledo.poll is None


def test_parity_bit_is_masked() -> None:
    stream = with_even_parity(STABLE_KG + MOTION_KG)
    assert stream != STABLE_KG + MOTION_KG
    assert fields(toledo.decode(stream)) == [(12_340, True, False, False, False), (12_340, False, False, False, False)]


@pytest.mark.parametrize(("a", "b", "c", "weight", "grams"), [
    (0x2C, 0x31, 0x20, b"  1234", 12_340),  # net
    (0x2C, 0x32 | 0x01, 0x20, b"  1234", -12_340),  # net, negative
    (0x2C, 0x20, 0x20, b"  1000", 4536),  # lb: 10.00 lb
    (0x2A, 0x30, 0x21, b"   123", 123),  # g, decimal code 2 (x1)
    (0x2A, 0x30, 0x22, b"000012", 12_000_000),  # t
    (0x2B, 0x30, 0x23, b"   100", 283),  # oz, decimal code 3: 10.0 oz
    (0x28, 0x30, 0x20, b"    12", 1_200_000),  # decimal code 0: x100 kg
    (0x29, 0x30, 0x20, b"    12", 120_000),  # decimal code 1: x10 kg
    (0x2F, 0x30, 0x21, b"123456", 1),  # decimal code 7: 1.23456 g
    (0x2D, 0x70, 0x30, b"000500", 500),  # power-up bit, print and expanded bits do not matter
])
def test_status_words_units_and_decimal_codes(a: int, b: int, c: int, weight: bytes, grams: int) -> None:
    readings = toledo.decode(frame(a, b, c, weight))
    assert [reading.grams for reading in readings] == [grams]
    assert readings[0].net == bool(b & 1)


@pytest.mark.parametrize(("b", "overload", "underload"), [(0x34, True, False), (0x36, False, True)])
def test_out_of_range(b: int, overload: bool, underload: bool) -> None:
    assert fields(toledo.decode(frame(0x2C, b, 0x20, b"  ----"))) == [(None, False, False, overload, underload)]


def test_unknown_unit_is_not_a_reading() -> None:
    decoder = Decoder()
    assert decoder.feed(frame(0x2C, 0x30, 0x24, b"  1234")) + decoder.flush() == []
    assert (decoder.bad_frames, decoder.ignored_frames) == (0, 1)


@pytest.mark.parametrize("raw", [
    STABLE_KG[:-1] + b"\x1c",  # bad checksum
    frame(0x2C, 0x30, 0x20, b"  12x4"),
    frame(0x2C, 0x30, 0x20, b"      "),
    frame(0x0C, 0x30, 0x20, b"  1234"),  # bit 5 of status word A missing
    frame(0x2C, 0x30, 0x20, b"  1234", tare=b"   1.0"),
])
def test_bad_frames_give_no_reading(raw: bytes) -> None:
    decoder = Decoder()
    assert decoder.feed(raw) + decoder.flush() == []
    assert decoder.bad_frames == 1


def test_checksum_that_equals_stx_in_a_checksummed_stream() -> None:
    stream = STABLE_KG + CHECKSUM_IS_STX + STABLE_KG + CHECKSUM_IS_STX
    for cut in range(len(stream) + 1):
        decoder = Decoder()
        readings = decoder.feed(stream[:cut]) + decoder.feed(stream[cut:]) + decoder.flush()
        assert [reading.grams for reading in readings] == [12_340, 89_990, 12_340, 89_990]
        assert decoder.bad_frames == 0


def test_plain_stream_split_at_every_byte() -> None:
    stream = PLAIN_KG + CHECKSUM_IS_STX[:-1] + PLAIN_KG
    for cut in range(len(stream) + 1):
        decoder = Decoder()
        readings = decoder.feed(stream[:cut]) + decoder.feed(stream[cut:]) + decoder.flush()
        assert [reading.grams for reading in readings] == [12_340, 89_990, 12_340]
        assert decoder.bad_frames == 0


def test_plain_stream_tolerates_garbage_once_it_has_shown_plain_frames() -> None:
    decoder = Decoder()
    readings = decoder.feed(PLAIN_KG + PLAIN_KG + b"xyz" + PLAIN_KG + b"\x00" + PLAIN_KG) + decoder.flush()
    assert len(readings) == 4
    assert decoder.bad_frames == 0


def test_dropped_bytes_resynchronise() -> None:
    decoder = Decoder()
    readings = decoder.feed(b"noise" + STABLE_KG[:7] + STABLE_KG[8:] + STABLE_KG + b"\x02\x02" + MOTION_KG)
    assert fields(readings) == [(12_340, True, False, False, False), (12_340, False, False, False, False)]
    assert decoder.bad_frames == 3


def test_garbage_does_not_grow_the_buffer() -> None:
    decoder = Decoder()
    for _ in range(100):
        decoder.feed(bytes(range(256)) * 40)
        assert len(decoder._pending) < 2 * 18


def test_flush_takes_a_last_plain_frame_then_starts_clean() -> None:
    decoder = Decoder()
    assert decoder.feed(PLAIN_KG + PLAIN_KG) == [Reading(12_340, True, raw=PLAIN_KG)]  # a checksum may follow
    assert decoder.flush() == [Reading(12_340, True, raw=PLAIN_KG)]  # none did
    assert decoder.feed(PLAIN_KG[:9]) == []
    assert decoder.flush() == [] and decoder.bad_frames == 1  # half a frame
    after = decoder.feed(PLAIN_KG[9:] + MOTION_KG) + decoder.flush()  # the rest is not glued to its start
    assert fields(after) == [(12_340, False, False, False, False)]
    assert decoder.bad_frames == 1


readings = st.one_of(
    st.builds(Reading, grams=st.integers(-999_999, 999_999), stable=st.booleans(), net=st.booleans()),
    st.builds(Reading, grams=st.none(), stable=st.just(False), overload=st.just(True)),
    st.builds(Reading, grams=st.none(), stable=st.just(False), underload=st.just(True)),
)
tares = st.integers(0, 999_999)


@settings(deadline=None)
@given(sent=st.lists(readings, min_size=1, max_size=20), tare=tares, grams_unit=st.booleans(), data=st.data())
def test_round_trip_with_checksum_and_parity_through_chunks_and_garbage(sent, tare, grams_unit, data, chop, feed_all,
                                                                        garbage_without) -> None:
    noise = garbage_without(b"\x02\x82\r\x8d")
    writer = ToledoContinuous(parity=True, grams_unit=grams_unit, tare_g=tare)
    stream = b"".join(data.draw(noise) + writer.frame(reading) for reading in sent)
    assert any(byte & 0x80 for byte in stream)  # the parity bits are on the wire
    decoder = Decoder()
    assert fields(feed_all(decoder, chop(data, stream + data.draw(noise)))) == fields(sent)
    assert decoder.bad_frames == 0


@settings(deadline=None)
@given(sent=st.lists(readings, min_size=1, max_size=20), tare=tares, parity=st.booleans(), data=st.data())
def test_round_trip_without_checksum_through_chunks(sent, tare, parity, data, chop, feed_all) -> None:
    writer = ToledoContinuous(checksum=False, parity=parity, tare_g=tare)
    stream = b"".join(writer.frame(reading) for reading in sent)
    decoder = Decoder()
    assert fields(feed_all(decoder, chop(data, stream))) == fields(sent)
    assert decoder.bad_frames == 0


@given(data=st.data(), stream=st.binary(max_size=400))
def test_arbitrary_bytes_never_raise(data, stream: bytes, chop, feed_all) -> None:
    feed_all(Decoder(), chop(data, stream))


def test_after_flush_a_stream_may_come_without_checksums() -> None:
    """Another indicator may be on the port after a reconnection: what the last one did is forgotten."""
    decoder = Decoder()
    assert len(decoder.feed(STABLE_KG * 3) + decoder.flush()) == 3  # checksummed frames
    assert decoder.feed(PLAIN_KG) == []
    assert decoder.flush() == [Reading(12_340, True, raw=PLAIN_KG)]  # not a frame missing its checksum
    assert decoder.bad_frames == 0
