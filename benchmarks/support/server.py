"""A server process for the benchmarks: `canteen serve` (or any ASGI server command) on a free loopback port."""
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import IO

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def canteen_serve(database_url: str, workers: int, log: Path | None = None) -> tuple[subprocess.Popen, str]:
    """`canteen serve` with that many workers and no scheduler: its jobs would share the server's CPU, and a
    province runs them in their own process (`canteen scheduler`)."""
    env = {"CANTEEN_DATABASE_URL": database_url, "CANTEEN_SECRET_KEY": "benchmark", "CANTEEN_SCHEDULER": "false"}
    return start([str(Path(sys.executable).parent / "canteen"), "serve", "--workers", str(workers)], env, log)


def start(command: list[str], env: dict[str, str], log: Path | None = None) -> tuple[subprocess.Popen, str]:
    """Starts the command with --host/--port and waits for /healthz, up to 2 minutes: on 2 busy cores each worker
    imports the app in turn. Its output goes to a file (a temporary one without `log`), never a pipe: uvicorn's
    workers keep a pipe open, and reading one after a failed start would wait for ever."""
    port = free_port()
    output: IO[bytes] = log.open("wb") if log else tempfile.TemporaryFile()
    process = subprocess.Popen([*command, "--host", "127.0.0.1", "--port", str(port)], env={**os.environ, **env},
                               stdout=output, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(f"{url}/healthz").status_code == 200:
                return process, url
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    process.kill()
    process.wait(timeout=30)
    output.seek(0)
    raise RuntimeError(f"server did not start: {output.read().decode(errors='replace')[-2000:]}")
