"""Where the emulated indicator's bytes go: a pseudo-terminal (like a USB-serial adapter) or a TCP socket
(like a serial-to-Ethernet server), one client at a time.

Like a real serial line, a port never makes the scale wait: bytes nobody is connected to receive, or that
the client is too slow to take, are lost.
"""
import os
import select
import socket
import termios
import time
import tty
from pathlib import Path
from typing import Protocol


class Port(Protocol):
    address: str

    def connected(self) -> bool: ...

    def wait(self, timeout_s: float) -> bytes:
        """Wait up to `timeout_s` for the client to send something; return what it sent (maybe nothing)."""

    def write(self, data: bytes) -> int:
        """Send what the client can take now; return how many bytes went out."""

    def hang_up(self) -> None: ...

    def come_back(self) -> str | None:
        """Serve again after `hang_up`; return the new address when it changed."""

    def close(self) -> None: ...


class PtyPort:
    """A pseudo-terminal in raw mode; the client opens `address` (the slave) like a serial device.

    Hanging up closes the master, so the client's reads fail as when a USB-serial adapter is pulled out;
    coming back creates a new pseudo-terminal, whose path may differ: `link`, when given, is a symlink kept
    pointing at the current one (as /dev/serial/by-id/… does for real adapters).
    """

    def __init__(self, link: Path | None = None) -> None:
        self._link = link
        self._master: int | None = None
        self._was_connected = False
        self.address = self._open()

    def connected(self) -> bool:
        if self._master is None:
            return False
        poller = select.poll()
        poller.register(self._master, select.POLLIN)
        hung_up = any(events & select.POLLHUP for _, events in poller.poll(0))  # no slave open
        if hung_up and self._was_connected:
            termios.tcflush(self._master, termios.TCIOFLUSH)  # the next client must not read stale frames
        self._was_connected = not hung_up
        return not hung_up

    def wait(self, timeout_s: float) -> bytes:
        if not self.connected():
            time.sleep(min(timeout_s, 0.01))  # a master without a slave polls as readable forever
            return b""
        assert self._master is not None
        readable, _, _ = select.select([self._master], [], [], timeout_s)
        if not readable:
            return b""
        try:
            return os.read(self._master, 4096)
        except OSError:  # the client closed the slave in between
            return b""

    def write(self, data: bytes) -> int:
        if not self.connected():
            return 0
        assert self._master is not None
        try:
            return os.write(self._master, data)
        except OSError:  # the buffer is full (the client is not reading) or the client just left
            return 0

    def hang_up(self) -> None:
        if self._master is not None:
            os.close(self._master)
            self._master = None
            self._was_connected = False

    def come_back(self) -> str | None:
        self.address = self._open()
        return self.address

    def close(self) -> None:
        self.hang_up()
        if self._link is not None:
            self._link.unlink(missing_ok=True)

    def _open(self) -> str:
        master, slave = os.openpty()
        path = os.ttyname(slave)
        tty.setraw(slave)  # the client sees bytes unchanged: no echo, no CR→LF, no line buffering
        os.close(slave)
        os.set_blocking(master, False)
        self._master = master
        if self._link is not None:
            staging = self._link.with_name(self._link.name + ".new")
            staging.unlink(missing_ok=True)
            staging.symlink_to(path)
            staging.replace(self._link)
        return path


class TcpPort:
    """Listens on `host:port` (port 0 picks a free one); serves one client at a time, others wait in the backlog.

    Hanging up closes the client's socket; the listener stays open, so a client reconnecting during the
    pause is connected but hears nothing until the port comes back.
    """

    def __init__(self, host: str, port: int) -> None:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._listener = socket.create_server((host, port), family=family, backlog=4)
        self._listener.setblocking(False)
        self._client: socket.socket | None = None
        self._serving = True
        bound_host, bound_port = self._listener.getsockname()[:2]
        self.address = f"[{bound_host}]:{bound_port}" if family == socket.AF_INET6 else f"{bound_host}:{bound_port}"

    def connected(self) -> bool:
        return self._client is not None

    def wait(self, timeout_s: float) -> bytes:
        if not self._serving:
            time.sleep(timeout_s)
            return b""
        watched = self._client or self._listener
        readable, _, _ = select.select([watched], [], [], timeout_s)
        if not readable:
            return b""
        if self._client is None:
            self._accept()
            return b""
        try:
            data = self._client.recv(4096)
        except OSError:
            data = b""
        if not data:  # the client left
            self._drop_client()
        return data

    def write(self, data: bytes) -> int:
        if self._client is None or not self._serving:
            return 0
        try:
            return self._client.send(data)
        except BlockingIOError:
            return 0
        except OSError:
            self._drop_client()
            return 0

    def hang_up(self) -> None:
        self._drop_client()
        self._serving = False

    def come_back(self) -> str | None:
        self._serving = True
        return None

    def close(self) -> None:
        self._drop_client()
        self._listener.close()

    def _accept(self) -> None:
        try:
            client, _ = self._listener.accept()
        except BlockingIOError:
            return
        client.setblocking(False)
        client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._client = client

    def _drop_client(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
