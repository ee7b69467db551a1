"""yaohua-a12: "=" big-screen frames, "W" lines with check, lower-case lines, detected frame by frame; round trips
against the simulator's frame writers."""
from functools import reduce
from operator import xor

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from canteen.scale_driver.protocols import Reading, get
from canteen.scale_driver.protocols.yaohua_a12 import Decoder
from hardware_sim.frames import YaohuaA12Lines, YaohuaA12LowerCase, YaohuaA12Screen

a12 = get("yaohua-a12")


def w_line(body: bytes) -> bytes:
    return body + b"%02X\r\n" % reduce(xor, body)


def values(readings: list[Reading]) -> list[tuple[int | None, bool, bool, bool]]:
    return [(reading.grams, reading.net, reading.overload, reading.underload) for reading in readings]


def test_reference_screen_stream() -> None:
    assert a12.decode(b"=000.3000=000.3000") == [Reading(3000, False, raw=b"=000.3000")] * 2
    assert a12.decode(b"=05.21000") == [Reading(12_500, False, raw=b"=05.21000")]


@pytest.mark.parametrize(("raw", "reading"), [
    (b"WG004.139kg3D\r\n", Reading(4139, False)),
    (b"         OL23\r\n", Reading(None, False, overload=True)),
    (b"WN012.500kg3D\r\n", Reading(12_500, False, net=True)),
    (b"         LO23\r\n", Reading(None, False, underload=True)),
])
def test_reference_lines(raw: bytes, reading: Reading) -> None:
    assert a12.decode(raw) == [Reading(reading.grams, reading.stable, reading.net, reading.overload,
                                       reading.underload, raw)]


@pytest.mark.parametrize(("raw", "grams"), [
    (b"=000.300-", -3000),
    (b"=05.2100-", -12_500),
    (b"=00000000", 0),
    (b"=005100  ", 1_500_000),  # "  001500": a space sign is positive, no decimal point
])
def test_screen_sign_and_padding(raw: bytes, grams: int) -> None:
    assert [reading.grams for reading in a12.decode(raw)] == [grams]


def test_non_reversed_screen_mode() -> None:
    decoder = Decoder(reversed_value=False)
    assert values(decoder.feed(b"=0003.000=-012.500")) == [(3000, False, False, False), (-12_500, False, False, False)]


@pytest.mark.parametrize(("raw", "grams", "net"), [
    (b"ww000.000kg\n", 0, False),
    (b"wn-0000.1kg\n", -100, True),
    (b"ww012.345kg\r\n", 12_345, False),
])
def test_lower_case_lines(raw: bytes, grams: int, net: bool) -> None:
    assert values(a12.decode(raw)) == [(grams, net, False, False)]


def test_lower_case_tare_line_is_not_a_reading() -> None:
    decoder = Decoder()
    assert decoder.feed(b"wt001.000kg\n") == []
    assert (decoder.bad_frames, decoder.ignored_frames) == (0, 1)


@pytest.mark.parametrize("raw", [
    b"WG004.139kg3E\r\n",  # bad check
    b"WG004.1-9kg" + b"%02X\r\n" % reduce(xor, b"WG004.1-9kg"),  # not a number
    b"=000.3+00",  # '+' is not a screen character
    b"=000.300X",
    b"=000.300+",  # the sign is `0` or `-`
])
def test_bad_frames_give_no_reading(raw: bytes) -> None:
    decoder = Decoder()
    assert decoder.feed(raw) + decoder.flush() == []
    assert decoder.bad_frames == 1


def test_families_are_detected_frame_by_frame() -> None:
    stream = b"=000.3000" + w_line(b"WN001.000kg") + b"ww002.000kg\n" + b"         OL23\r\n" + b"=05.21000"
    assert values(a12.decode(stream)) == [
        (3000, False, False, False), (1000, True, False, False), (2000, False, False, False),
        (None, False, True, False), (12_500, False, False, False)]


def test_stability_is_inferred_and_reset_by_overload() -> None:
    decoder = Decoder(stable_after=2)
    stream = b"=000.3000" * 3 + b"         OL23\r\n" + b"=000.3000" * 2 + w_line(b"WN003.000kg")
    assert [reading.stable for reading in decoder.feed(stream)] == [False, True, True, False, False, True, False]


def test_frames_split_at_every_byte() -> None:
    stream = b"=000.3000" + w_line(b"WG001.000kg") + b"wn002.000kg\n" + b"=05.21000"
    for cut in range(len(stream) + 1):
        decoder = Decoder()
        readings = decoder.feed(stream[:cut]) + decoder.feed(stream[cut:])
        assert [reading.grams for reading in readings] == [3000, 1000, 2000, 12_500]
        assert decoder.bad_frames == 0


def test_dropped_bytes_resynchronise_on_the_next_frame() -> None:
    decoder = Decoder()
    line = w_line(b"WG001.000kg")
    stream = b"=000.300" + b"=000.3000" + line[:6] + line[7:] + line + b"junk\x00" + b"=05.21000"
    assert [reading.grams for reading in decoder.feed(stream)] == [3000, 1000, 12_500]
    assert decoder.bad_frames == 2


def test_garbage_does_not_grow_the_buffer() -> None:
    decoder = Decoder()
    for _ in range(100):
        decoder.feed(bytes(range(256)) * 40)
        assert len(decoder._pending) < 15


def test_flush_drops_a_half_screen_frame_and_starts_stability_over() -> None:
    decoder = Decoder(stable_after=2)
    assert [reading.stable for reading in decoder.feed(b"=000.3000" * 2 + b"=000.")] == [False, True]
    assert decoder.flush() == [] and decoder.bad_frames == 1
    after = decoder.feed(b"3000=000.3000")  # "=000." + "3000" would have been a frame
    assert [(reading.grams, reading.stable) for reading in after] == [(3000, False)]


weights = st.integers(-99_999, 999_999)
readings = st.one_of(
    st.builds(Reading, grams=weights, stable=st.just(False), net=st.booleans()),
    st.just(Reading(None, False, overload=True)),
    st.just(Reading(None, False, underload=True)),
)


@settings(deadline=None)
@given(sent=st.lists(readings, min_size=1, max_size=20), data=st.data())
def test_round_trip_of_w_lines_through_random_chunks_and_garbage(sent, data, chop, feed_all, garbage_without) -> None:
    noise = garbage_without(b"=Ww\n")
    writer = YaohuaA12Lines()
    stream = b"".join(data.draw(noise) + writer.frame(reading) for reading in sent)
    decoder = Decoder()
    assert values(feed_all(decoder, chop(data, stream + data.draw(noise)))) == values(sent)
    assert decoder.bad_frames == 0


@settings(deadline=None)
@given(grams=st.lists(weights, min_size=1, max_size=20), reversed_order=st.booleans(), data=st.data())
def test_round_trip_of_screen_frames_in_both_orders(grams, reversed_order, data, chop, feed_all) -> None:
    writer = YaohuaA12Screen(reversed_order=reversed_order)
    stream = b"".join(writer.frame(Reading(value, False)) for value in grams)
    decoder = Decoder(reversed_value=reversed_order)
    assert [reading.grams for reading in feed_all(decoder, chop(data, stream))] == grams
    assert decoder.bad_frames == 0


@settings(deadline=None)
@given(sent=st.lists(st.builds(Reading, grams=weights, stable=st.just(False), net=st.booleans()), min_size=1,
                     max_size=30), tare=st.integers(1, 999_999), data=st.data())
def test_round_trip_of_lower_case_lines_with_tare_lines(sent, tare, data, chop, feed_all) -> None:
    writer = YaohuaA12LowerCase(tare_g=tare, tare_every=3)
    stream = b"".join(writer.frame(reading) for reading in sent)
    decoder = Decoder()
    assert values(feed_all(decoder, chop(data, stream))) == values(sent)
    assert (decoder.bad_frames, decoder.ignored_frames) == (0, sum(reading.net for reading in sent) // 3)


@given(data=st.data(), stream=st.binary(max_size=400))
def test_arbitrary_bytes_never_raise(data, stream: bytes, chop, feed_all) -> None:
    feed_all(Decoder(), chop(data, stream))
