"""The protocol registry and the decoder contract every protocol follows (canteen.scale_driver.protocols)."""
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from canteen.scale_driver import protocols
from canteen.scale_driver.protocols import Reading, ScaleProtocol, SerialDefaults, UnknownProtocol, get, names
from hardware_sim import frames

NAMES = ["yaohua-tf0", "yaohua-a12", "toledo-continuous", "mt-sics", "ascii-st-gs"]


def test_names_and_one_object_per_protocol() -> None:
    assert names() == NAMES
    for name in NAMES:
        protocol = get(name)
        assert isinstance(protocol, ScaleProtocol) and protocol.name == name
        assert get(name) is protocol
        assert isinstance(protocol.serial, SerialDefaults)


def test_only_mt_sics_is_polled() -> None:
    assert {name: get(name).poll for name in NAMES} == {
        "yaohua-tf0": None, "yaohua-a12": None, "toledo-continuous": None, "mt-sics": b"SI\r\n", "ascii-st-gs": None}


def test_an_unknown_name_says_which_ones_exist() -> None:
    with pytest.raises(UnknownProtocol, match="unknown scale protocol 'nope'; known: yaohua-tf0, yaohua-a12, "):
        get("nope")
    assert issubclass(UnknownProtocol, ValueError)


def test_the_public_names() -> None:
    assert set(protocols.__all__) == {"Decoder", "Reading", "ScaleProtocol", "SerialDefaults", "UnknownProtocol",
                                      "get", "names"}


@pytest.mark.parametrize("name", NAMES)
def test_each_decoder_is_fresh_and_has_the_contract(name: str) -> None:
    protocol = get(name)
    first, second = protocol.decoder(), protocol.decoder()
    assert first is not second
    for decoder in (first, second):
        assert (decoder.bad_frames, decoder.ignored_frames) == (0, 0)
        assert decoder.feed(b"") == [] and decoder.flush() == []


def test_decode_is_a_fresh_decoder_fed_once_and_flushed() -> None:
    plain = b"\x02,0   1234     0\r"  # toledo-continuous without checksum: only the end of input completes it
    toledo = get("toledo-continuous")
    assert toledo.decoder().feed(plain) == []
    assert toledo.decode(plain) == [Reading(12_340, True, raw=plain)]
    assert toledo.decode(plain) == toledo.decode(plain)  # no state kept between calls


def stream(name: str) -> st.SearchStrategy[bytes]:
    """The simulator's frames of one protocol (any output variant, each repeated a few times) with random bytes
    between and inside them."""
    line_format = frames.get(name)
    reading = st.one_of(
        st.builds(Reading, grams=st.integers(-99_999, 99_999), stable=st.booleans(), net=st.booleans()),
        st.just(Reading(None, False, overload=True)), st.just(Reading(None, False, underload=True)))

    def frame(variant: str, reading: Reading) -> bytes:
        writer = line_format.writer(variant, 1500)
        return writer.frame(reading)

    repeated = st.builds(lambda frame, times: frame * times,  # a resting load: the same frame again and again
                         st.builds(frame, st.sampled_from(list(line_format.variants)), reading), st.integers(1, 6))
    piece = st.one_of(repeated, st.binary(max_size=6))
    return st.lists(piece, max_size=8).map(b"".join)


@pytest.mark.parametrize("name", NAMES)
@settings(deadline=None, max_examples=60)
@given(data=st.data())
def test_after_flush_a_decoder_reads_like_a_fresh_one(name: str, data: st.DataObject) -> None:
    """Whatever came before: flush() leaves nothing behind that changes how the next bytes are read."""
    before, after = data.draw(stream(name), label="before"), data.draw(stream(name), label="after")
    used = get(name).decoder()
    used.feed(before)
    used.flush()
    counts = used.bad_frames, used.ignored_frames
    fresh = get(name).decoder()
    assert used.feed(after) + used.flush() == fresh.feed(after) + fresh.flush()
    assert (used.bad_frames - counts[0], used.ignored_frames - counts[1]) == (fresh.bad_frames, fresh.ignored_frames)
