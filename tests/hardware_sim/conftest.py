"""Runs the scale emulator as a real process."""
import json
import select
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.hardware_sim.clients import Client

START = "2025-03-03T11:30:00+08:00"


@dataclass
class Emulator:
    process: subprocess.Popen[str]
    address: str
    truth_path: Path

    def next_line(self, timeout_s: float = 10) -> str:
        assert self.process.stdout is not None
        readable, _, _ = select.select([self.process.stdout], [], [], timeout_s)
        assert readable, "the emulator printed nothing"
        return self.process.stdout.readline().strip()

    def finish(self, timeout_s: float = 30) -> None:
        assert self.process.wait(timeout_s) == 0, self.process.stderr.read() if self.process.stderr else ""

    def truth(self) -> list[dict]:
        return [json.loads(line) for line in self.truth_path.read_text().splitlines()]


@pytest.fixture
def emulator(tmp_path: Path) -> Iterator[Callable[..., Emulator]]:
    started: list[subprocess.Popen[str]] = []

    def start(*args: str) -> Emulator:
        truth_path = tmp_path / f"truth-{len(started)}.jsonl"
        process = subprocess.Popen([sys.executable, "-m", "hardware_sim", "scale", "--start", START,
                                    "--truth", str(truth_path), *args],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        started.append(process)
        emulator = Emulator(process, "", truth_path)
        emulator.address = emulator.next_line()
        return emulator

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
        process.wait()
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


@pytest.fixture
def connect() -> Iterator[Callable[[str], Client]]:
    """Open a client on a pty path or host:port; all are closed after the test."""
    clients: list[Client] = []

    def open_client(address: str) -> Client:
        clients.append(Client(address))
        return clients[-1]

    yield open_client
    for client in clients:
        client.close()
