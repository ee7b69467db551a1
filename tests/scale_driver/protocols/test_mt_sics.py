"""mt-sics: reply lines to `SI` and `S`, status replies that carry no weight, units, round trips against the
simulator's replies."""
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from canteen.scale_driver.protocols import Reading, SerialDefaults, get
from canteen.scale_driver.protocols.mt_sics import Decoder
from hardware_sim.frames import MettlerSics

sics = get("mt-sics")


def fields(readings: list[Reading]) -> list[tuple[int | None, bool, bool, bool]]:
    return [(reading.grams, reading.stable, reading.overload, reading.underload) for reading in readings]


def test_polls_with_si() -> None:
    assert sics.poll == b"SI\r\n"
    assert sics.serial == SerialDefaults(9600, 8, "N", 1)


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
    decoder = Decoder()
    assert decoder.feed(raw) + decoder.flush() == []
    assert (decoder.bad_frames, decoder.ignored_frames) == (0, 1)


@pytest.mark.parametrize("raw", [b"S S     1x0.00 g\r\n", b"S X 100.00 g\r\n", b"T S     100.00 g\r\n", b"\xff\xfe\n"])
def test_other_lines_are_bad_frames(raw: bytes) -> None:
    decoder = Decoder()
    assert decoder.feed(raw) + decoder.flush() == []
    assert decoder.bad_frames == 1


def test_split_replies_garbage_and_an_unfinished_line() -> None:
    stream = b"\x00\x11S S     100.00 g\r\nS D      1.000 kg\r\nS I\r\nS S  0.5"
    for cut in range(len(stream) + 1):
        decoder = Decoder()
        readings = decoder.feed(stream[:cut]) + decoder.feed(stream[cut:])
        assert fields(readings) == [(100, True, False, False), (1000, False, False, False)]
        decoder.flush()
        assert (decoder.bad_frames, decoder.ignored_frames) == (0, 1)


def test_long_garbage_without_line_end_is_dropped() -> None:
    decoder = Decoder()
    for _ in range(100):
        decoder.feed(b"S S 1" * 1000)
        assert len(decoder._pending) < 48
    assert fields(decoder.feed(b"\r\nS S 1.000 kg\r\n")) == [(1000, True, False, False)]


def test_flush_drops_an_unfinished_line() -> None:
    decoder = Decoder()
    assert decoder.feed(b"S S      1.0") == []
    assert decoder.flush() == [] and decoder.bad_frames == 0  # no line end in it: nothing to count
    assert fields(decoder.feed(b"00 kg\r\nS S 2.000 kg\r\n")) == [(2000, True, False, False)]
    assert decoder.bad_frames == 1  # "00 kg" alone


readings = st.one_of(
    st.builds(Reading, grams=st.integers(-10 ** 9, 10 ** 9), stable=st.booleans()),
    st.just(Reading(None, False, overload=True)),
    st.just(Reading(None, False, underload=True)),
)


@settings(deadline=None)
@given(sent=st.lists(readings, min_size=1, max_size=20), grams_unit=st.booleans(), data=st.data())
def test_round_trip_of_si_replies_through_random_chunks_and_garbage(sent, grams_unit, data, chop, feed_all,
                                                                    garbage_without) -> None:
    scale = MettlerSics(unit="g", decimals=0) if grams_unit else MettlerSics()
    noise = garbage_without(b"\n")
    stream = b"".join(data.draw(noise) + scale.frame(reading) for reading in sent)
    decoder = Decoder()
    assert fields(feed_all(decoder, chop(data, stream + data.draw(noise)))) == fields(sent)
    assert decoder.bad_frames == 0


def test_replies_to_s_are_stable_weights_or_busy() -> None:
    scale = MettlerSics(stable_timeout_s=2)
    replies = [scale.reply(b"S", Reading(1500, True), 0), scale.reply(b"S", Reading(1500, False), 2.5),
               scale.reply(b"S", Reading(None, False, overload=True), 0), scale.reply(b"SI", Reading(7, False), 0),
               scale.reply(b"Z", Reading(0, True), 0)]
    assert scale.reply(b"S", Reading(1500, False), 1) is None  # still waiting for the weight to settle
    decoder = Decoder()
    assert fields(decoder.feed(b"".join(reply or b"" for reply in replies))) == [
        (1500, True, False, False), (None, False, True, False), (7, False, False, False)]
    assert (decoder.bad_frames, decoder.ignored_frames) == (0, 2)  # S I and ES


@given(data=st.data(), stream=st.binary(max_size=400))
def test_arbitrary_bytes_never_raise(data, stream: bytes, chop, feed_all) -> None:
    feed_all(Decoder(), chop(data, stream))
