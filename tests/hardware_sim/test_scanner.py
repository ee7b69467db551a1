"""The emulated identity reader: who scans when (hardware_sim.scanner.plan), and the scanner as a process beside the
scale, read over real ptys and sockets."""
import json
import random
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta

import pytest

from canteen.scale_driver.identity import CodeLines
from canteen.scale_driver.pairing import Pairing, PairingConfig
from hardware_sim.scanner import ScannerOptions, plan
from hardware_sim.station import StationConfig, Timeline
from hardware_sim.traffic import meal

START = datetime(2025, 3, 3, 3, 30, tzinfo=UTC)
LUNCH = ("--diners", "12", "--meal-minutes", "1", "--seed", "3", "--wait-client")
OPTIONS = ScannerOptions(before_s=8, after_s=3, share=0.8, twice=0.2, late=0.2, outside=0.2)


def rested(seed: int, diners: float = 40, minutes: float = 4) -> list[float]:
    """When each tray of a simulated meal comes to rest, in seconds from the bell."""
    timeline = Timeline(meal(START, START + timedelta(minutes=minutes), diners, seed), START, StationConfig(),
                        random.Random(seed), minutes * 60)
    return [settled.at_s for settled in timeline.settled]


def test_each_behaviour_keeps_to_its_side_of_the_neighbouring_trays():
    times = rested(0)
    scans, answers = plan(times, OPTIONS, random.Random(0))
    assert len(answers) == len(times)
    assert {answer.scan for answer in answers} == {"before", "twice", "late", "outside", "none"}
    by_plate: dict[int, list[float]] = {}
    for scan in scans:
        by_plate.setdefault(scan.plate, []).append(scan.at_s)
    for number, answer in enumerate(answers, start=1):
        rest = times[number - 1]
        previous = times[number - 2] if number > 1 else None
        following = times[number] if number < len(times) else None
        mine = by_plate.get(number, [])
        if answer.scan == "none":
            assert mine == [] and answer.code is None
            continue
        [code] = {scan.code for scan in scans if scan.plate == number}  # one diner, one code
        assert answer.code == (None if answer.scan == "outside" else code)
        expected = {"before": 1, "late": 1, "outside": 1, "twice": 2}[answer.scan]
        assert len(mine) == expected
        for at_s in mine:
            if at_s < rest:
                assert rest - at_s >= 0.3 and rest - at_s <= 4
                assert previous is None or at_s - previous > rest - at_s  # nearer its own tray
            elif answer.scan == "outside":
                assert at_s - rest >= OPTIONS.after_s + 1.5 and answer.code is None
                assert all(not at_s - OPTIONS.after_s - 1.5 <= other <= at_s + OPTIONS.before_s + 1.5
                           for other in times if other != rest)
            else:
                assert 1.0 <= at_s - rest <= 0.7 * OPTIONS.after_s
                assert following is None or following - at_s > at_s - rest


def test_codes_are_distinct_tokens_and_card_numbers_or_the_ones_given_in_order():
    scans, answers = plan(rested(5), OPTIONS, random.Random(1))
    codes = [answer.code for answer in answers if answer.scan not in ("none", "outside")]
    assert len(set(codes)) == len(codes)
    assert all(code.startswith("bk_") and len(code) == 27 or code.isdigit() and len(code) == 10 for code in codes)
    given = ScannerOptions(share=1, twice=0, late=0, outside=0, codes=("6200000001", "bk_given"))
    _, answers = plan([10.0, 20.0, 30.0], given, random.Random(1))
    assert [answer.code for answer in answers] == ["6200000001", "bk_given", None]  # out of codes: no scan


@pytest.mark.parametrize("seed", range(6))
def test_the_gateways_pairing_gives_every_plate_the_simulators_answer(seed):
    """The truth holds for the gateway's rule, wherever between a quarter and half a second after the load comes to
    rest the gateway sees the tray settle (the indicator's stability takes that long)."""
    rng = random.Random(seed)
    times = rested(seed)
    scans, answers = plan(times, OPTIONS, random.Random(seed))
    seen = [rest + rng.uniform(0.25, 0.5) for rest in times]
    pairing = Pairing(PairingConfig(OPTIONS.before_s, OPTIONS.after_s), lag_s=0.5, last_seq=0)
    events = sorted([(scan.at_s, "scan", scan.code) for scan in scans]
                    + [(when, "tray", number) for number, when in enumerate(seen, start=1)], key=lambda event: event[0])
    codes: dict[int, str | None] = {}
    for at_s, kind, what in events:
        now = START + timedelta(seconds=at_s)
        for decision in pairing.decide(now):
            codes[decision.seq] = decision.code
        if kind == "scan":
            pairing.scan(now, str(what))
        else:  # known once its plateau has lasted the gateway's stability window
            pairing.tray(int(what), now)
    for decision in pairing.decide(START + timedelta(seconds=seen[-1] + 60)):
        codes[decision.seq] = decision.code
    assert [codes[number] for number in range(1, len(times) + 1)] == [answer.code for answer in answers]


@pytest.mark.parametrize("options", [["--scan-twice", "0.6", "--scan-late", "0.5"], ["--scan-suffix", "tab"],
                                     ["--scanner-tcp", "127.0.0.1:0"], ["--mode", "kitchen"]])
def test_mistakes_in_the_scanner_flags_give_one_line_and_exit_2(options):
    result = subprocess.run([sys.executable, "-m", "hardware_sim", "scale", "--protocol", "ascii-st-gs", "--pty",
                             "--scanner-pty", *options], capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    [line] = result.stderr.splitlines()
    assert line.startswith("error: ")


@pytest.mark.parametrize("suffix, end", [("cr", b"\r"), ("crlf", b"\r\n"), ("lf", b"\n")])
def test_the_scanner_sends_each_planned_code_as_one_line_on_its_own_pty(emulator, connect, tmp_path, suffix, end):
    scan_truth = tmp_path / "scans.jsonl"
    scale = emulator("--protocol", "ascii-st-gs", "--pty", "--speed", "20", "--scanner-pty", "--scan-suffix", suffix,
                     "--scan-share", "1", "--scan-truth", str(scan_truth), *LUNCH)
    scanner_address = scale.process.stdout.readline().strip()  # printed right after the first line
    assert scanner_address.startswith("/dev/pts/") and scanner_address != scale.address
    scanner = connect(scanner_address)
    scanned: list[bytes] = []
    reading = threading.Thread(target=lambda: scanned.append(scanner.read_until_closed()))
    reading.start()
    scale_data = connect(scale.address).read_until_closed()
    reading.join(timeout=30)
    scale.finish()
    [data] = scanned
    assert scale_data
    sent = [json.loads(line) for line in scan_truth.read_text().splitlines()]
    assert sent and all(line["sent"] for line in sent)
    assert data == b"".join(line["code"].encode() + end for line in sent)
    assert CodeLines().feed(data) == [line["code"] for line in sent]
    truth = scale.truth()
    assert {line["plate"] for line in sent} <= {line["seq"] for line in truth}
    for line in truth:
        assert line["code"] in {scan["code"] for scan in sent if scan["plate"] == line["seq"]} | {None}


def test_the_scanner_over_tcp_waits_for_its_client_too(emulator, connect):
    scale = emulator("--protocol", "ascii-st-gs", "--pty", "--speed", "20", "--scanner-tcp", "127.0.0.1:0",
                     "--scan-share", "1", *LUNCH)
    host, _, port = scale.process.stdout.readline().strip().rpartition(":")
    scale_client = connect(scale.address)
    assert scale_client.read_for(0.5) == b""  # the simulated clock waits for both clients
    scanner = connect(f"{host}:{port}")
    scanned: list[bytes] = []
    reading = threading.Thread(target=lambda: scanned.append(scanner.read_until_closed()))
    reading.start()
    scale_client.read_until_closed()
    reading.join(timeout=30)
    scale.finish()
    assert scanned[0].count(b"\r") > 0
