"""The other end of the emulator's line: a real pseudo-terminal or TCP socket."""
import os
import select
import socket
import time


class Client:
    """One end of the line: `receive` returns b"" when nothing came and None once the other end has gone."""

    def __init__(self, address: str) -> None:
        if address.startswith("/"):
            self._fd = os.open(address, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
            self._socket = None
        else:
            host, _, port = address.rpartition(":")
            self._socket = socket.create_connection((host, int(port)), timeout=5)
            self._fd = self._socket.fileno()

    def receive(self, timeout_s: float) -> bytes | None:
        readable, _, _ = select.select([self._fd], [], [], timeout_s)
        if not readable:
            return b""
        try:
            data = self._socket.recv(65536) if self._socket else os.read(self._fd, 65536)
        except OSError:  # a pty whose master has closed
            return None
        return data or None

    def send(self, data: bytes) -> None:
        if self._socket:
            self._socket.sendall(data)
        else:
            os.write(self._fd, data)

    def close(self) -> None:
        if self._socket:
            self._socket.close()
        else:
            os.close(self._fd)

    def read_until_closed(self, timeout_s: float = 30) -> bytes:
        data = bytearray()
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            chunk = self.receive(0.2)
            if chunk is None:
                return bytes(data)
            data += chunk
        raise AssertionError("the emulator did not hang up")

    def read_for(self, seconds: float) -> bytes:
        data = bytearray()
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            data += self.receive(left) or b""
        return bytes(data)

    def poll_until_closed(self, poll: bytes, interval_s: float = 0.002) -> tuple[int, bytes]:
        """Send `poll`, wait for the reply line, again and again; return the number of polls sent and the replies."""
        data, polls = bytearray(), 0
        while True:
            try:
                self.send(poll)
            except OSError:
                return polls, bytes(data)
            polls += 1
            lines = data.count(b"\n")
            while data.count(b"\n") == lines:
                chunk = self.receive(2)
                if chunk is None:
                    return polls, bytes(data)
                assert chunk, "a poll went unanswered"
                data += chunk
            time.sleep(interval_s)
