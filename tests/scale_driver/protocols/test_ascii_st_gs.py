"""ascii-st-gs: status, mode, value and unit lines with their common variants; round trips against the
simulator's frame writer in each of its variants."""
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from canteen.scale_driver.protocols import Reading, get
from canteen.scale_driver.protocols.ascii_st_gs import Decoder
from hardware_sim.frames import FORMATS

ascii_lines = get("ascii-st-gs")


def fields(readings: list[Reading]) -> list[tuple[int | None, bool, bool, bool, bool]]:
    return [(reading.grams, reading.stable, reading.net, reading.overload, reading.underload) for reading in readings]


@pytest.mark.parametrize(("raw", "reading"), [
    (b"ST,NT,+000.876kg\r\n", Reading(876, True, net=True)),
    (b"ST,GS,+0012.345kg\r\n", Reading(12_345, True)),
])
def test_reference_lines(raw: bytes, reading: Reading) -> None:
    assert ascii_lines.decode(raw) == [Reading(reading.grams, reading.stable, reading.net, raw=raw)]


@pytest.mark.parametrize(("raw", "reading"), [
    (b"01ST,GS,+0012.345kg\r\n", (12_345, True, False, False, False)),  # RS-485 address
    (b"ST,GS,+0012.345,kg\r\n", (12_345, True, False, False, False)),  # comma before the unit
    (b"ST,GS, 0012.345kg\r\n", (12_345, True, False, False, False)),  # space for +
    (b"US,NT,-   0.100 kg\r\n", (-100, False, True, False, False)),  # space padding
    (b"ST,GS,+  1234.5  g\r\n", (1235, True, False, False, False)),
    (b"ST,GS,+002.00lb\r\n", (907, True, False, False, False)),
    (b"ST,GS,+0012.345KG\n", (12_345, True, False, False, False)),
    (b"ST,GS,+12kg\r\n", (12_000, True, False, False, False)),
    (b"OL,GS,+99999.9kg\r\n", (None, False, False, True, False)),
    (b"UL,NT,  -OL   ,kg\r\n", (None, False, True, False, True)),
])
def test_variants(raw: bytes, reading: tuple[int | None, bool, bool, bool, bool]) -> None:
    assert fields(ascii_lines.decode(raw)) == [reading]


def test_count_unit_is_not_a_weight() -> None:
    decoder = Decoder()
    assert decoder.feed(b"ST,GS,+000012pcs\r\n") == []
    assert (decoder.bad_frames, decoder.ignored_frames) == (0, 1)


@pytest.mark.parametrize("raw", [b"ST,XX,+0012.345kg\r\n", b"ST,GS,+00.12.3kg\r\n", b"ST,GS,+kg\r\n", b"\r\n"])
def test_malformed_lines_are_bad_frames(raw: bytes) -> None:
    decoder = Decoder()
    assert decoder.feed(raw) + decoder.flush() == []
    assert decoder.bad_frames == 1


def test_split_lines_garbage_and_dropped_bytes() -> None:
    stream = b"\x00garbageST,GS,+0001.000kg\r\nST,GS,+0002.0kg\r\nUS,NT,+0003.000kg\r\n"
    for cut in range(len(stream) + 1):
        decoder = Decoder()
        readings = decoder.feed(stream[:cut]) + decoder.feed(stream[cut:])
        assert fields(readings) == [(1000, True, False, False, False), (2000, True, False, False, False),
                                    (3000, False, True, False, False)]
    decoder = Decoder()
    readings = decoder.feed(b"ST,GS,+0001.0ST,GS,+0002.000kg\r\nST,G+0003kg\r\n") + decoder.flush()
    assert [reading.grams for reading in readings] == [2000]
    assert decoder.bad_frames == 1


def test_garbage_does_not_grow_the_buffer() -> None:
    decoder = Decoder()
    for _ in range(100):
        decoder.feed(b"ST,GS,+0" * 1000)
        assert len(decoder._pending) < 64


def test_flush_drops_an_unfinished_line() -> None:
    decoder = Decoder()
    assert decoder.feed(b"ST,GS,+0001") == []
    assert decoder.flush() == []
    assert fields(decoder.feed(b".345kg\r\nST,GS,+0002.000kg\r\n")) == [(2000, True, False, False, False)]
    assert decoder.bad_frames == 1  # ".345kg" alone, not 1.345 kg


readings = st.one_of(  # up to 1 t: what every variant shows in 8 characters (2204.621 lb)
    st.builds(Reading, grams=st.integers(-999_999, 999_999), stable=st.booleans(), net=st.booleans()),
    st.builds(Reading, grams=st.none(), stable=st.just(False), net=st.booleans(), overload=st.just(True)),
    st.builds(Reading, grams=st.none(), stable=st.just(False), net=st.booleans(), underload=st.just(True)),
)


@settings(deadline=None)
@given(sent=st.lists(readings, min_size=1, max_size=20), variant=st.sampled_from(list(FORMATS["ascii-st-gs"].variants)),
       data=st.data())
def test_round_trip_through_random_chunks_and_garbage(sent, variant, data, chop, feed_all, garbage_without) -> None:
    writer = FORMATS["ascii-st-gs"].writer(variant)
    noise = garbage_without(b"\n")
    stream = b"".join(data.draw(noise) + writer.frame(reading) for reading in sent)
    decoder = Decoder()
    assert fields(feed_all(decoder, chop(data, stream + data.draw(noise)))) == fields(sent)
    assert decoder.bad_frames == 0


@given(data=st.data(), stream=st.binary(max_size=400))
def test_arbitrary_bytes_never_raise(data, stream: bytes, chop, feed_all) -> None:
    feed_all(Decoder(), chop(data, stream))


@pytest.mark.parametrize("variant", list(FORMATS["ascii-st-gs"].variants))
def test_every_variant_at_the_edges_of_its_range(variant: str) -> None:
    writer = FORMATS["ascii-st-gs"].writer(variant)
    sent = [Reading(grams, stable, net) for grams in (999_999, -999_999, 0, 1, -1) for stable in (True, False)
            for net in (True, False)]
    assert fields(ascii_lines.decode(b"".join(map(writer.frame, sent)))) == fields(sent)
