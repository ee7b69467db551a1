"""yaohua-tf0: reference frames, both check-digit styles, inferred stability, resynchronisation, round trips
against the simulator's frame writer."""
from functools import reduce
from operator import xor

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from canteen.scale_driver.protocols import Reading, SerialDefaults, get
from canteen.scale_driver.protocols.yaohua_tf0 import Decoder
from hardware_sim.frames import YaohuaTf0

tf0 = get("yaohua-tf0")


def frame(body: bytes, offset_digits: bool = False) -> bytes:
    check = reduce(xor, body)
    digits = bytes((0x30 + (check >> 4), 0x30 + (check & 0xF))) if offset_digits else b"%02X" % check
    return b"\x02" + body + digits + b"\x03"


@pytest.mark.parametrize(("raw", "grams"), [
    (b"\x02+00000001B\x03", 0),
    (b"\x02+001560019\x03", 1_560_000),
    (b"\x02+00125021F\x03", 12_500),
])
def test_reference_frames(raw: bytes, grams: int) -> None:
    assert tf0.decode(raw) == [Reading(grams, stable=False, raw=raw)]


def test_reference_frame_with_bad_check_gives_no_reading() -> None:
    decoder = Decoder()
    assert decoder.feed(b"\x02+00000001C\x03") == []
    assert decoder.bad_frames == 1


def test_registry_and_serial_defaults() -> None:
    assert tf0.name == "yaohua-tf0"
    assert tf0.serial == SerialDefaults(9600, 8, "N", 1)
    assert tf0.poll is None
    assert isinstance(tf0.decoder(), Decoder)


def test_check_digits_offset_by_0x30_are_accepted() -> None:
    raw = frame(b"+0012502", offset_digits=True)
    assert raw == b"\x02+00125021?\x03"
    assert [reading.grams for reading in tf0.decode(raw)] == [12_500]


@pytest.mark.parametrize(("body", "grams"), [
    (b"-0012502", -12_500),
    (b"+0000010", 1_000),
    (b"+1234564", 12_346),  # 12.3456 kg
    (b"+1234544", 12_345),  # 12.3454 kg
    (b"+0012354", 124),  # 0.1235 kg: half a gram rounds away from zero
    (b"-0012354", -124),
    (b"+9999990", 999_999_000),
])
def test_sign_and_decimal_places(body: bytes, grams: int) -> None:
    assert [reading.grams for reading in tf0.decode(frame(body))] == [grams]


@pytest.mark.parametrize("body", [b"+00A2502", b"+0012505", b"*0012502", b"+00 2502"])
def test_malformed_frames_give_no_reading(body: bytes) -> None:
    decoder = Decoder()
    assert decoder.feed(frame(body)) + decoder.flush() == []
    assert decoder.bad_frames == 1


def test_stable_after_the_same_value_in_a_row() -> None:
    decoder = Decoder(stable_after=3)
    light, heavy = frame(b"+0001002"), frame(b"+0002002")
    stream = light * 4 + heavy * 2 + light * 3
    assert [(reading.grams, reading.stable) for reading in decoder.feed(stream)] == [
        (1000, False), (1000, False), (1000, True), (1000, True),
        (2000, False), (2000, False),
        (1000, False), (1000, False), (1000, True),
    ]


def test_a_resting_load_flickering_by_a_division_or_two_is_stable() -> None:
    decoder = Decoder(stable_after=3)
    grams = [1000, 1001, 999, 1000, 1001, 1004, 1005, 1004]
    stream = b"".join(frame(b"+%06d3" % value) for value in grams)  # 3 decimals: kg to the gram
    assert [reading.stable for reading in decoder.feed(stream)] == [
        False, False, True, True, True,  # within 2 g of each other
        False, False,  # 1004 is 3 g above 1001: a new load settling
        True]


def test_default_stability_needs_five_frames() -> None:
    readings = tf0.decode(frame(b"+0001002") * 5)
    assert [reading.stable for reading in readings] == [False] * 4 + [True]


def test_stable_after_must_be_positive() -> None:
    with pytest.raises(ValueError):
        Decoder(stable_after=0)


def test_frames_split_at_every_byte_and_several_in_one_read() -> None:
    stream = frame(b"+0001002") + frame(b"+0002002") + frame(b"+0003002")
    for cut in range(len(stream) + 1):
        decoder = Decoder()
        readings = decoder.feed(stream[:cut]) + decoder.feed(stream[cut:])
        assert [reading.grams for reading in readings] == [1000, 2000, 3000]
        assert decoder.bad_frames == 0


def test_garbage_and_a_frame_with_a_dropped_byte_resynchronise() -> None:
    good = frame(b"+0001002")
    broken = good[:5] + good[6:]
    decoder = Decoder()
    readings = decoder.feed(b"\xff\x00noise\x03" + broken + good + b"\x02\x02" + good)
    assert [reading.grams for reading in readings] == [1000, 1000]
    assert decoder.bad_frames == 3  # the broken frame and the two stray STX bytes


def test_garbage_does_not_grow_the_buffer() -> None:
    decoder = Decoder()
    for _ in range(100):
        assert decoder.feed(bytes(range(256)) * 40) == []
        assert len(decoder._pending) < 12


def test_flush_drops_a_half_frame_and_starts_stability_over() -> None:
    decoder = Decoder(stable_after=2)
    whole = frame(b"+0001002")
    assert [reading.stable for reading in decoder.feed(whole * 2 + whole[:6])] == [False, True]
    assert decoder.flush() == []
    assert decoder.bad_frames == 1  # the half frame
    assert decoder.feed(whole[6:]) == []  # the rest of that frame is not glued to its start
    assert [reading.stable for reading in decoder.feed(whole * 2)] == [False, True]  # a fresh run of frames


# (grams, decimal places) the frame shows exactly: 1 g, 10 g, 100 g and 1 kg divisions
shown = st.one_of(
    st.tuples(st.integers(-999_999, 999_999), st.just(3)),
    st.tuples(st.integers(-999_999, 999_999).map(lambda value: value * 10), st.just(2)),
    st.tuples(st.integers(-999_999, 999_999).map(lambda value: value * 100), st.just(1)),
    st.tuples(st.integers(-999_999, 999_999).map(lambda value: value * 1000), st.just(0)),
)


@settings(deadline=None)
@given(sent=st.lists(shown, min_size=1, max_size=20), offset_check=st.booleans(), data=st.data())
def test_round_trip_through_random_chunks_and_garbage(sent, offset_check, data, chop, feed_all,
                                                      garbage_without) -> None:
    noise = garbage_without(b"\x02")
    stream = b"".join(data.draw(noise) + YaohuaTf0(offset_check=offset_check, decimals=decimals).frame(
        Reading(grams, True)) for grams, decimals in sent)
    decoder = Decoder()
    readings = feed_all(decoder, chop(data, stream + data.draw(noise)))
    assert [reading.grams for reading in readings] == [grams for grams, _ in sent]
    assert decoder.bad_frames == 0


@given(grams=st.integers(-999_999, 999_999), repeats=st.integers(1, 8))
def test_repeated_frames_become_stable(grams: int, repeats: int) -> None:
    readings = Decoder(stable_after=3).feed(YaohuaTf0().frame(Reading(grams, True)) * repeats)
    assert [reading.stable for reading in readings] == [index >= 2 for index in range(repeats)]


@given(data=st.data(), stream=st.binary(max_size=400))
def test_arbitrary_bytes_never_raise(data, stream: bytes, chop, feed_all) -> None:
    for reading in feed_all(Decoder(), chop(data, stream)):
        assert reading.grams is not None and reading.raw.startswith(b"\x02")
