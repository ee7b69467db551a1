"""mt-sics: reply lines to `SI`, status replies that carry no weight, units, round trips."""
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from canteen.scale_driver.protocols import Reading
from canteen.scale_driver.protocols import mt_sics as sics


def fields(readings: list[Reading]) -> list[tuple]:
    return [(reading.grams, reading.stable, reading.overload, reading.underload) for reading in readings]


def test_polls_with_si() -> None:
    assert sics.POLL == b"SI\r\n"
    assert (sics.SERIAL.baudrate, sics.SERIAL.bytesize, sics.SERIAL.parity) == (9600, 8, "N")


@pytest.mark.parametrize(("raw", "reading"), [
    (b"S S     100.00 g\r\n", Reading(100, True)),
    (b"S D      12.37 kg\r\n", Reading(12_370, False)),
    (b"S +\r\n", Reading(None, False, overload=True)),
    (b"S -\r\n", Reading(None, False, underload=True)),
    (b"S S      -0.02 kg\r\n", Reading(-20, True)),
    (b"S S 2.5 lb\n", Reading(1134, True)),
    (b"S D       1500 mg\r\n", Reading(2, False)),  # 1.5 g rounds half away from zero
    (b"S S    0.01 t\r\n", Reading(10_000, True)),
])
def test_replies(raw: bytes, reading: Reading) -> None:
    assert sics.decode(raw) == [Reading(reading.grams, reading.stable, False, reading.overload, reading.underload,
                                        raw)]


@pytest.mark.parametrize("raw", [b"S I\r\n", b"ES\r\n", b"ET\r\n", b"EL\r\n", b"S S     12.000 PCS\r\n"])
def test_replies_without_a_weight(raw: bytes) -> None:
    decoder = sics.Decoder()
    assert decoder.feed(raw) + decoder.flush() == []
    assert (decoder.bad_frames, decoder.ignored_frames) == (0, 1)


@pytest.mark.parametrize("raw", [b"S S     1x0.00 g\r\n", b"S X 100.00 g\r\n", b"T S     100.00 g\r\n", b"\xff\xfe\n"])
def test_other_lines_are_bad_frames(raw: bytes) -> None:
    decoder = sics.Decoder()
    assert decoder.feed(raw) + decoder.flush() == []
    assert decoder.bad_frames == 1


def test_split_replies_garbage_and_an_unfinished_line() -> None:
    stream = b"\x00\x11S S     100.00 g\r\nS D      1.000 kg\r\nS I\r\nS S  0.5"
    for cut in range(len(stream) + 1):
        decoder = sics.Decoder()
        readings = decoder.feed(stream[:cut]) + decoder.feed(stream[cut:])
        assert fields(readings) == [(100, True, False, False), (1000, False, False, False)]
        decoder.flush()
        assert (decoder.bad_frames, decoder.ignored_frames) == (0, 1)


def test_long_garbage_without_line_end_is_dropped() -> None:
    decoder = sics.Decoder()
    for _ in range(100):
        decoder.feed(b"S S 1" * 1000)
        assert len(decoder._pending) < 48
    assert fields(decoder.feed(b"\r\nS S 1.000 kg\r\n")) == [(1000, True, False, False)]


readings = st.one_of(
    st.builds(Reading, grams=st.integers(-10 ** 9, 10 ** 9), stable=st.booleans()),
    st.just(Reading(None, False, overload=True)),
    st.just(Reading(None, False, underload=True)),
)


@settings(deadline=None)
@given(sent=st.lists(readings, min_size=1, max_size=20), data=st.data())
def test_round_trip_through_random_chunks_and_garbage(sent, data, chop, feed_all, garbage_without) -> None:
    noise = garbage_without(b"\n")
    stream = b"".join(data.draw(noise) + sics.encode(reading) for reading in sent)
    decoder = sics.Decoder()
    assert fields(feed_all(decoder, chop(data, stream + data.draw(noise)))) == fields(sent)
    assert decoder.bad_frames == 0


@given(data=st.data(), stream=st.binary(max_size=400))
def test_arbitrary_bytes_never_raise(data, stream: bytes, chop, feed_all) -> None:
    feed_all(sics.Decoder(), chop(data, stream))
