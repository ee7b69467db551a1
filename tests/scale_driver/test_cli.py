"""`canteen scale protocols | decode | watch` through the real `canteen` entry point, on real ptys and sockets."""
import json
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from canteen.cli import app
from canteen.scale_driver.protocols import Reading, names
from hardware_sim.frames import AsciiLines, MettlerSics, ToledoContinuous, YaohuaTf0

CANTEEN_SCRIPT = Path(sys.executable).parent / "canteen"
ASCII_FRAMES = (AsciiLines().frame(Reading(1234, True)) + AsciiLines().frame(Reading(-50, False, net=True))
                + AsciiLines().frame(Reading(None, False, overload=True)))
ASCII_LINES = ["     1234 g  stable  gross", "      -50 g  motion  net", "         OL  motion  gross"]


def scale(*args: str, input: bytes | None = None) -> Result:
    return CliRunner().invoke(app, ["scale", *args], input=input)


def assert_user_mistake(result: Result, *expected: str) -> None:
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for text in expected:
        assert text in lines[0]


def test_protocols_lists_every_protocol_with_its_serial_defaults() -> None:
    result = scale("protocols")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert [line.split()[0] for line in lines] == names()
    assert "toledo-continuous   9600 7E1   streams" in lines
    assert "mt-sics             9600 8N1   polled with SI" in lines


def test_protocols_as_json() -> None:
    result = scale("protocols", "--json")
    assert result.exit_code == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [row["name"] for row in rows] == names()
    assert rows[names().index("mt-sics")] == {"name": "mt-sics", "baudrate": 9600, "bytesize": 8, "parity": "N",
                                              "stopbits": 1, "poll": "SI\r\n"}


def test_decode_a_capture_file(tmp_path: Path) -> None:
    capture = tmp_path / "capture.bin"
    capture.write_bytes(b"\x00\x02+00000001B\x03\x02+001560019\x03\x02+00000001C\x03\x02+00125021F\x03\x02+0012")
    result = scale("decode", "--protocol", "yaohua-tf0", str(capture))
    assert result.exit_code == 0, result.stderr
    assert [json.loads(line) for line in result.stdout.splitlines()] == [
        {"grams": grams, "stable": False, "net": False, "overload": False, "underload": False}
        for grams in (0, 1_560_000, 12_500)]
    assert result.stderr == "readings: 3, bad frames: 2, frames without a weight: 0\n"


def test_decode_standard_input() -> None:
    stream = b"".join(ToledoContinuous(parity=True).frame(reading) for reading in (
        Reading(250, True, net=True), Reading(None, False, underload=True)))
    assert any(byte & 0x80 for byte in stream)  # the parity bit of a 7E1 line read at 8N1
    result = scale("decode", "--protocol", "toledo-continuous", input=stream)
    assert result.exit_code == 0, result.stderr
    assert [json.loads(line) for line in result.stdout.splitlines()] == [
        {"grams": 250, "stable": True, "net": True, "overload": False, "underload": False},
        {"grams": None, "stable": False, "net": False, "overload": False, "underload": True}]


def test_decode_counts_frames_without_a_weight() -> None:
    result = scale("decode", "--protocol", "mt-sics", input=b"S I\r\nS S 1.5 kg\r\nES\r\ngarbage\r\n")
    assert result.exit_code == 0, result.stderr
    assert len(result.stdout.splitlines()) == 1
    assert result.stderr == "readings: 1, bad frames: 1, frames without a weight: 2\n"


def test_decode_unknown_protocol_is_a_one_line_error() -> None:
    assert_user_mistake(scale("decode", "--protocol", "nonsense", input=b""), "nonsense", "yaohua-tf0")


def test_decode_missing_file_is_a_one_line_error(tmp_path: Path) -> None:
    assert_user_mistake(scale("decode", "--protocol", "mt-sics", str(tmp_path / "missing.bin")), "missing.bin")


def test_decode_through_the_installed_command() -> None:
    completed = subprocess.run([str(CANTEEN_SCRIPT), "scale", "decode", "--protocol", "yaohua-a12"],
                               input=b"=000.3000WG004.139kg3D\r\n         OL23\r\n", capture_output=True, timeout=30)
    assert completed.returncode == 0, completed.stderr
    assert [json.loads(line)["grams"] for line in completed.stdout.splitlines()] == [3000, 4139, None]


@contextmanager
def tcp_scale(data: bytes) -> Iterator[str]:
    """A serial-to-Ethernet scale: streams `data` over and over to whoever connects."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        connection, _ = listener.accept()
        with connection, suppress(OSError):  # the watcher hangs up when it is done
            while not stop.wait(0.05):
                connection.sendall(data)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"socket://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(5)
        listener.close()


def test_watch_a_tcp_scale_for_some_readings() -> None:
    with tcp_scale(ASCII_FRAMES) as url:
        result = scale("watch", "--port", url, "--protocol", "ascii-st-gs", "--count", "5")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines() == ASCII_LINES + ASCII_LINES[:2]
    header, summary = result.stderr.splitlines()
    assert header == f"watching {url} (ascii-st-gs, 9600 8N1); Ctrl-C stops"
    assert summary.startswith("readings: 5, bad frames: ")


def test_watch_a_polled_scale_on_a_pty_with_serial_options() -> None:
    master, slave = os.openpty()
    name = os.ttyname(slave)
    answered = threading.Event()

    def scale_box() -> None:
        polls = b""
        while polls.count(b"SI\r\n") < 2:
            polls += os.read(master, 64)
        reply = MettlerSics().frame
        os.write(master, reply(Reading(321, True)) + reply(Reading(None, False, overload=True)))
        answered.set()

    thread = threading.Thread(target=scale_box, daemon=True)
    thread.start()
    try:
        result = scale("watch", "--port", name, "--protocol", "mt-sics", "--baudrate", "4800", "--parity", "E",
                       "--bytesize", "7", "--stopbits", "2", "--count", "2")
    finally:
        os.close(slave)
        os.close(master)
    assert answered.is_set()
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines() == ["      321 g  stable  gross", "         OL  motion  gross"]
    assert result.stderr.splitlines()[0] == f"watching {name} (mt-sics, 4800 7E2); Ctrl-C stops"


def test_watch_missing_device_is_a_one_line_error() -> None:
    assert_user_mistake(scale("watch", "--port", "/dev/ttyNOSUCHSCALE", "--protocol", "mt-sics"),
                        "could not open port /dev/ttyNOSUCHSCALE")


@pytest.mark.parametrize(("option", "value", "expected"), [
    ("--port", "nonsense://scale", "--port"),
    ("--stopbits", "3", "--stopbits"),
])
def test_watch_bad_settings_are_one_line_errors(option: str, value: str, expected: str) -> None:
    args = {"--port": "loop://", "--protocol": "mt-sics", option: value}
    assert_user_mistake(scale("watch", *(item for pair in args.items() for item in pair)), expected)


def test_watch_stops_cleanly_on_ctrl_c() -> None:
    with tcp_scale(YaohuaTf0().frame(Reading(800, True))) as url:
        process = subprocess.Popen([str(CANTEEN_SCRIPT), "scale", "watch", "--port", url, "--protocol", "yaohua-tf0"],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        first = process.stdout.readline()
        process.send_signal(signal.SIGINT)
        # communicate() drains both pipes while it waits, so a watcher still printing cannot block on a full pipe;
        # the bound only catches a watcher that ignores Ctrl-C, and is generous for a loaded 2-core machine.
        stdout, stderr = process.communicate(timeout=60)
    assert first == b"      800 g  motion  gross\n"
    assert process.returncode == 0, stderr
    assert b"Traceback" not in stderr
    assert stderr.splitlines()[-1].startswith(b"readings: ")
