"""`python -m hardware_sim`: where to connect on the first line, one-line errors for bad flags."""
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from hardware_sim.__main__ import main

COMMAND = [sys.executable, "-m", "hardware_sim", "scale"]


@contextmanager
def running(*flags: str) -> Iterator[subprocess.Popen[str]]:
    with subprocess.Popen([*COMMAND, *flags], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as process:
        try:
            yield process
        finally:
            if process.poll() is None:
                process.kill()


def test_pty_prints_the_path_of_a_terminal_first_and_exits_0_when_done() -> None:
    with running("--protocol", "yaohua-tf0", "--pty", "--speed", "10", "--duration", "5") as process:
        path = process.stdout.readline().strip()
        fd = os.open(path, os.O_RDWR | os.O_NOCTTY)
        try:
            assert os.isatty(fd)
        finally:
            os.close(fd)
        stdout, stderr = process.communicate(timeout=10)
    assert process.returncode == 0, stderr
    assert stdout == "" and stderr == ""


def test_tcp_port_0_prints_the_address_it_listens_on() -> None:
    with running("--protocol", "ascii-st-gs", "--tcp", "127.0.0.1:0", "--speed", "10", "--duration", "5") as process:
        host, _, port = process.stdout.readline().strip().rpartition(":")
        assert host == "127.0.0.1" and int(port) > 0
        with socket.create_connection((host, int(port)), timeout=5) as connection:
            assert b"kg\r\n" in connection.recv(4096)
        assert process.wait(10) == 0


def test_terminating_removes_the_link(tmp_path: Path) -> None:
    link = tmp_path / "ttyScale"
    with running("--protocol", "mt-sics", "--pty", "--link", str(link)) as process:
        path = process.stdout.readline().strip()
        assert os.readlink(link) == path
        process.send_signal(signal.SIGTERM)
        assert process.wait(10) == 143
    assert not link.exists()


def test_an_unknown_protocol_is_one_line_and_a_non_zero_exit() -> None:
    result = subprocess.run([*COMMAND, "--protocol", "nope", "--pty"], capture_output=True, text=True, timeout=10)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("error: ") and "'nope'" in result.stderr and "yaohua-tf0" in result.stderr


@pytest.mark.parametrize(("flags", "complaint"), [
    ([], "Missing option '--protocol'"),
    (["--protocol", "mt-sics"], "--pty/--tcp"),
    (["--protocol", "mt-sics", "--pty", "--tcp", "127.0.0.1:0"], "--pty/--tcp"),
    (["--protocol", "mt-sics", "--tcp", "nonsense"], "not HOST:PORT"),
    (["--protocol", "mt-sics", "--tcp", "127.0.0.1:0", "--link", "/tmp/x"], "only applies with --pty"),
    (["--protocol", "mt-sics", "--pty", "--mode", "plate"], "'plate' is not one of 'tray', 'bin'"),
    (["--protocol", "mt-sics", "--pty", "--garble", "1.5"], "--garble"),
    (["--protocol", "mt-sics", "--pty", "--speed", "0"], "--speed"),
    (["--protocol", "mt-sics", "--pty", "--start", "2025-03-03 11:30"], "needs a UTC offset"),
    (["--protocol", "mt-sics", "--pty", "--start", "lunch"], "not an ISO 8601 time"),
    (["--protocol", "mt-sics", "--pty", "--diners", "many"], "--diners"),
    (["--protocol", "mt-sics", "--pty", "--bogus"], "No such option: --bogus"),
])
def test_bad_flags_are_one_error_line(capsys, flags: list[str], complaint: str) -> None:
    started = time.monotonic()
    assert main(["scale", *flags]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("error: ") and err.count("\n") == 1 and complaint in err, err
    assert time.monotonic() - started < 2  # refused before anything starts


@pytest.mark.parametrize(("flags", "complaint"), [
    (["--station-key", "stk_x"], "Missing option '--server'"),
    (["--server", "http://127.0.0.1:9"], "Missing option '--station-key'"),
    (["--server", "127.0.0.1:9", "--station-key", "stk_x"], "must start with http:// or https://"),
    (["--server", "http://127.0.0.1:9", "--station-key", "stk_x", "--leave", "2"], "--leave"),
    (["--server", "http://127.0.0.1:9", "--station-key", "stk_x", "--react-min", "9", "--react-max", "3"],
     "must not be shorter than --react-min"),
    (["--server", "http://127.0.0.1:9", "--station-key", "stk_x", "--poll-every", "0.1"], "--poll-every"),
])
def test_bad_staff_flags_are_one_error_line(capsys, monkeypatch, flags: list[str], complaint: str) -> None:
    monkeypatch.delenv("CANTEEN_STATION_KEY", raising=False)
    assert main(["staff", *flags]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("error: ") and err.count("\n") == 1 and complaint in err, err


def test_no_command_is_an_error_and_help_is_not(capsys) -> None:
    assert main([]) == 2
    assert capsys.readouterr().err == "error: Missing command.\n"
    assert main(["scale", "--help"]) == 0
    assert "Usage: python -m hardware_sim scale [OPTIONS]" in capsys.readouterr().out
