"""The gateway's durable queue: events wait here, numbered, until the server has them.

SQLite in WAL mode with `synchronous=FULL`, so a committed append survives a crash or power cut. The next
sequence number lives in its own table and only ever grows, so a number is never reused, even after its
event was uploaded and deleted. A new outbox starts numbering at the current Unix time in microseconds
rather than at 1: the server drops a (station, seq) it has already seen as a duplicate, so an outbox that
was lost and re-created must not count again from numbers the server already holds.
"""
import json
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from canteen.scale_driver.segmenter import Event, State

SCHEMA = """
CREATE TABLE IF NOT EXISTS event (
    seq INTEGER PRIMARY KEY,
    measured_at TEXT NOT NULL,
    grams INTEGER NOT NULL,
    diner_ref TEXT,
    category TEXT
);
CREATE TABLE IF NOT EXISTS rejected (
    seq INTEGER PRIMARY KEY,
    measured_at TEXT NOT NULL,
    grams INTEGER NOT NULL,
    diner_ref TEXT,
    category TEXT,
    field TEXT,
    reason TEXT NOT NULL,
    rejected_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS sequence (id INTEGER PRIMARY KEY CHECK (id = 1), next INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS state (name TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
COLUMNS = "seq, measured_at, grams, diner_ref, category"


@dataclass(frozen=True)
class Item:
    seq: int
    measured_at: datetime
    grams: int
    diner_ref: str | None = None
    category: str | None = None


@dataclass(frozen=True)
class Rejection:
    seq: int
    field: str | None
    reason: str


@dataclass(frozen=True)
class RejectedItem:
    item: Item
    field: str | None
    reason: str
    rejected_at: datetime


def _item(row: tuple[int, str, int, str | None, str | None]) -> Item:
    seq, measured_at, grams, diner_ref, category = row
    return Item(seq, datetime.fromisoformat(measured_at), grams, diner_ref, category)


class Outbox:
    """Safe to share between threads: one connection, one lock."""

    def __init__(self, path: Path | str, first_seq: int | None = None) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA busy_timeout = 10000")
        self._db.execute("PRAGMA journal_mode = WAL")
        self._db.execute("PRAGMA synchronous = FULL")
        with self._transaction():
            for statement in SCHEMA.split(";"):
                self._db.execute(statement)
            start = time.time_ns() // 1000 if first_seq is None else first_seq
            self._db.execute("INSERT OR IGNORE INTO sequence (id, next) VALUES (1, ?)", (start,))

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def append(self, event: Event, *, diner_ref: str | None = None, category: str | None = None,
               state: State | None = None) -> int:
        """Store an event (and the segmenter state that goes with it) durably; returns its sequence number."""
        with self._transaction():
            seq: int = self._db.execute("SELECT next FROM sequence WHERE id = 1").fetchone()[0]
            self._db.execute("UPDATE sequence SET next = next + 1 WHERE id = 1")
            self._db.execute(f"INSERT INTO event ({COLUMNS}) VALUES (?, ?, ?, ?, ?)",
                             (seq, event.measured_at.isoformat(), event.grams, diner_ref, category))
            if state is not None:
                self._save_state(state)
        return seq

    def save_state(self, state: State) -> None:
        with self._transaction():
            self._save_state(state)

    def _save_state(self, state: State) -> None:
        self._db.execute("INSERT OR REPLACE INTO state (name, value) VALUES ('segmenter', ?)",
                         (json.dumps(state, sort_keys=True),))

    def load_state(self) -> State | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM state WHERE name = 'segmenter'").fetchone()
        if not row:
            return None
        state: State = json.loads(row[0])
        return state

    def pending(self, limit: int) -> list[Item]:
        """The oldest events still waiting, in sequence order."""
        with self._lock:
            rows = self._db.execute(f"SELECT {COLUMNS} FROM event ORDER BY seq LIMIT ?", (limit,)).fetchall()
        return [_item(row) for row in rows]

    def remove(self, seqs: Iterable[int]) -> None:
        with self._transaction():
            self._db.executemany("DELETE FROM event WHERE seq = ?", [(seq,) for seq in seqs])

    def reject(self, rejections: Iterable[Rejection], at: datetime) -> None:
        """Move events the server refused into the `rejected` table, keeping the server's reason."""
        with self._transaction():
            for rejection in rejections:
                moved = self._db.execute(
                    f"INSERT OR REPLACE INTO rejected ({COLUMNS}, field, reason, rejected_at) "
                    f"SELECT {COLUMNS}, ?, ?, ? FROM event WHERE seq = ?",
                    (rejection.field, rejection.reason, at.isoformat(), rejection.seq))
                if moved.rowcount:
                    self._db.execute("DELETE FROM event WHERE seq = ?", (rejection.seq,))

    def rejected(self) -> list[RejectedItem]:
        with self._lock:
            rows = self._db.execute(
                f"SELECT {COLUMNS}, field, reason, rejected_at FROM rejected ORDER BY seq").fetchall()
        return [RejectedItem(_item(row[:5]), row[5], row[6], datetime.fromisoformat(row[7])) for row in rows]

    def depth(self) -> int:
        return self._count("SELECT count(*) FROM event")

    def rejected_count(self) -> int:
        return self._count("SELECT count(*) FROM rejected")

    def next_seq(self) -> int:
        return self._count("SELECT next FROM sequence WHERE id = 1")

    def _count(self, query: str) -> int:
        with self._lock:
            value: int = self._db.execute(query).fetchone()[0]
        return value

    def close(self) -> None:
        with self._lock:
            self._db.close()

