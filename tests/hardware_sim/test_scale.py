"""The emulated scale as a process, read over real ptys and sockets with the protocols' own decoders."""
import os
import statistics
import time
from datetime import UTC, datetime, timedelta
from itertools import groupby, pairwise
from pathlib import Path

import pytest

from canteen.scale_driver import protocols
from canteen.scale_driver.protocols import Reading
from canteen.scale_driver.segmenter import Mode, Segmenter, SegmenterConfig
from hardware_sim import frames
from hardware_sim.wire import seconds_per_byte

SMALL_LUNCH = ("--diners", "12", "--meal-minutes", "1", "--seed", "3", "--wait-client")


def tray_plateaus(readings: list[Reading]) -> list[float]:
    """The median stable reading of each stay of a tray on the platform (an empty platform reads under 100 g)."""
    plateaus, stable = [], []
    for reading in readings:
        if reading.grams is None or reading.grams < 100:
            if stable:
                plateaus.append(statistics.median(stable))
            stable = []
        elif reading.stable:
            stable.append(reading.grams)
    return plateaus + ([statistics.median(stable)] if stable else [])


def stable_runs(readings: list[Reading]) -> list[float]:
    """The median of each run of stable readings."""
    runs, run = [], []
    for reading in readings:
        if reading.stable and reading.grams is not None:
            run.append(reading.grams)
        elif run:
            runs.append(statistics.median(run))
            run = []
    return runs + ([statistics.median(run)] if run else [])


def decode(protocol: str, data: bytes) -> list[Reading]:
    return protocols.get(protocol).decode(data)


@pytest.mark.parametrize("drift", [0, 30])
def test_trays_rest_at_tare_plus_leftovers_over_a_pty(emulator, connect, drift: int) -> None:
    scale = emulator("--protocol", "ascii-st-gs", "--pty", "--speed", "40", "--zero-drift", str(drift), *SMALL_LUNCH)
    assert scale.address.startswith("/dev/pts/")
    data = connect(scale.address).read_until_closed()
    scale.finish()

    truth = scale.truth()
    assert [event["seq"] for event in truth] == list(range(1, len(truth) + 1))
    assert all(event["t"].startswith("2025-03-03T03:") and event["t"].endswith("+00:00") for event in truth)
    expected = [event["tare"] + event["grams"] + event["drift_g"] for event in truth]
    plateaus = tray_plateaus(decode("ascii-st-gs", data))
    assert len(plateaus) == len(truth) >= 5
    assert all(abs(seen - wanted) <= 1.5 for seen, wanted in zip(plateaus, expected, strict=True)), (plateaus, expected)
    if drift:
        assert truth[-1]["drift_g"] > 10


def test_bin_mode_steps_up_by_each_leftover_over_tcp(emulator, connect) -> None:
    scale = emulator("--protocol", "toledo-continuous", "--tcp", "127.0.0.1:0", "--mode", "bin", "--speed", "40",
                     *SMALL_LUNCH)
    data = connect(scale.address).read_until_closed()
    scale.finish()

    readings = decode("toledo-continuous", data)
    assert readings and all(reading.net for reading in readings)
    truth = scale.truth()
    assert truth[0]["tare"] == 0
    for before, after in pairwise(truth):
        assert after["tare"] == before["tare"] + before["grams"]
    runs = iter(stable_runs(readings))
    for event in truth:  # each resting weight shows up, in order
        assert any(abs(run - (event["tare"] + event["grams"])) <= 1 for run in runs), event


def test_kitchen_bins_are_scraped_into_for_seconds_and_the_gateways_rule_finds_each_one(emulator, connect) -> None:
    scale = emulator("--protocol", "ascii-st-gs", "--pty", "--mode", "kitchen", "--bins", "5", "--meal-minutes", "1",
                     "--seed", "6", "--tare-g", "1200", "--speed", "20", "--wait-client")
    data = connect(scale.address).read_until_closed()
    scale.finish()

    truth = scale.truth()
    assert len(truth) >= 3 and {event["tare"] for event in truth} <= set(range(1195, 1206))
    assert all(500 <= event["grams"] <= 15_000 for event in truth)
    readings = decode("ascii-st-gs", data)
    frame_s = len(b"ST,GS,+0001.345kg\r\n") * seconds_per_byte(frames.get("ascii-st-gs").serial)  # simulated
    segmenter = Segmenter(SegmenterConfig(mode=Mode.kitchen, tare_g=1200))  # the gateway's defaults
    start = datetime(2025, 3, 3, 3, 30, tzinfo=UTC)
    events = [event.grams for index, reading in enumerate(readings)
              if (event := segmenter.feed(start + timedelta(seconds=index * frame_s), reading)) is not None]
    # Each bin is one weighing of its waste, within the container's spread (±5 g) and the noise.
    wanted = [event["grams"] for event in truth]
    assert len(events) == len(wanted)
    assert all(abs(seen - grams) <= 7 for seen, grams in zip(events, wanted, strict=True)), (events, wanted)
    moving = [len(list(run)) for loaded, run in groupby(readings, lambda r: (r.grams or 0) > 100 and not r.stable)
              if loaded]
    assert max(moving) * frame_s > 3  # seconds of the weight moving while waste is scraped in


def test_a_polled_protocol_answers_each_poll_with_one_reply(emulator, connect) -> None:
    scale = emulator("--protocol", "mt-sics", "--tcp", "127.0.0.1:0", "--speed", "25", *SMALL_LUNCH)
    polls, data = connect(scale.address).poll_until_closed(b"SI\r\n")
    scale.finish()

    decoder = protocols.get("mt-sics").decoder()
    readings = decoder.feed(data)
    assert decoder.bad_frames == 0
    assert polls - 1 <= len(readings) <= polls  # the last poll may cross the hang-up
    expected = [event["tare"] + event["grams"] for event in scale.truth()]
    plateaus = tray_plateaus(readings)
    assert len(plateaus) == len(expected)
    assert all(abs(seen - wanted) <= 1 for seen, wanted in zip(plateaus, expected, strict=True)), (plateaus, expected)


@pytest.mark.parametrize(("protocol", "baudrate", "frame_bytes"), [("yaohua-tf0", 9600, 12),
                                                                    ("toledo-continuous", 2400, 18)])
def test_the_byte_rate_at_speed_1_is_the_baud_rate(emulator, connect, protocol: str, baudrate: int,
                                                   frame_bytes: int) -> None:
    scale = emulator("--protocol", protocol, "--pty", "--baudrate", str(baudrate), "--wait-client")
    client = connect(scale.address)
    client.read_for(0.3)  # settle in
    seconds = 2.0
    data = client.read_for(seconds)
    per_second = baudrate / 10  # 8N1 and 7E1 both take 10 bits a byte
    assert 0.93 * per_second <= len(data) / seconds <= 1.03 * per_second
    assert len(decode(protocol, data)) == pytest.approx(len(data) / frame_bytes, abs=2)


@pytest.mark.parametrize(("speed", "max_frame_rate", "frames_per_s"), [(10, 10_000, 800), (100, 1_000, 1_000)])
def test_the_line_runs_at_speed_and_frames_are_decimated_above_the_cap(
        emulator, connect, speed: int, max_frame_rate: int, frames_per_s: int) -> None:
    scale = emulator("--protocol", "yaohua-tf0", "--tcp", "127.0.0.1:0", "--speed", str(speed),
                     "--max-frame-rate", str(max_frame_rate), "--wait-client")
    client = connect(scale.address)
    client.read_for(0.3)
    frames = len(decode("yaohua-tf0", client.read_for(1.0))) / 1.0
    assert 0.9 * frames_per_s <= frames <= 1.05 * frames_per_s


def test_garbled_and_dropped_bytes_are_bad_frames_never_a_crash(emulator, connect) -> None:
    scale = emulator("--protocol", "yaohua-tf0", "--pty", "--speed", "40", "--duration", "40", "--garble", "0.01",
                     "--drop", "0.005", *SMALL_LUNCH)
    data = connect(scale.address).read_until_closed()
    scale.finish()

    decoder = protocols.get("yaohua-tf0").decoder()
    readings = decoder.feed(data)
    frames = len(data) / 12
    assert 0.05 * frames <= decoder.bad_frames <= 0.4 * frames  # 12 bytes at 1.5 % a byte: ~17 %
    assert len(readings) >= 0.6 * frames
    assert all(-10 <= reading.grams <= 1_500 for reading in readings)  # the check digits caught every change


def test_overload_frames_appear_while_someone_leans_on_the_scale(emulator, connect) -> None:
    scale = emulator("--protocol", "ascii-st-gs", "--tcp", "127.0.0.1:0", "--speed", "30", "--duration", "30",
                     "--overload-every", "8", "--diners", "0", "--wait-client")
    readings = decode("ascii-st-gs", connect(scale.address).read_until_closed())
    scale.finish()

    flags = [reading.overload for reading in readings]
    leans = sum(1 for before, now in pairwise(flags) if now and not before)
    assert leans == 3  # at 8, 16 and 24 s
    assert all(reading.grams is None and not reading.stable for reading in readings if reading.overload)
    assert readings[-1].stable and abs(readings[-1].grams) <= 2  # back to an empty platform


def test_a_tcp_hang_up_drops_the_client_and_serves_again_after_the_pause(emulator, connect) -> None:
    scale = emulator("--protocol", "ascii-st-gs", "--tcp", "127.0.0.1:0", "--speed", "20", "--duration", "20",
                     "--disconnect-after", "2", "--disconnect-pause", "10", *SMALL_LUNCH)
    assert len(connect(scale.address).read_until_closed(timeout_s=5)) > 0
    hung_up = time.monotonic()
    client = connect(scale.address)  # the listener is still there
    first = b""
    while not first:
        first = client.receive(5)
        assert first is not None
    assert 0.35 <= time.monotonic() - hung_up <= 0.8  # 10 simulated seconds at speed 20
    assert len(decode("ascii-st-gs", first + client.read_until_closed())) > 300
    scale.finish()


def test_a_pty_hang_up_comes_back_as_a_new_pty_behind_the_link(emulator, connect, tmp_path: Path) -> None:
    link = tmp_path / "ttyScale"
    scale = emulator("--protocol", "ascii-st-gs", "--pty", "--link", str(link), "--speed", "20", "--duration", "20",
                     "--disconnect-after", "3", "--disconnect-pause", "5", *SMALL_LUNCH)
    assert os.readlink(link) == scale.address
    assert len(connect(str(link)).read_until_closed(timeout_s=5)) > 0
    again = scale.next_line()
    assert again.startswith("/dev/pts/") and os.readlink(link) == again
    assert len(decode("ascii-st-gs", connect(str(link)).read_until_closed())) > 300
    scale.finish()
    assert not link.exists()
