"""Outbox: numbering that never goes back, order, rejection, state, durability across kill -9."""
import signal
import sqlite3
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from canteen.scale_driver.outbox import Item, Outbox, Rejection
from canteen.scale_driver.segmenter import Event

AT = datetime(2026, 11, 23, 4, 30, tzinfo=UTC)


def event(grams: int, seconds: int = 0) -> Event:
    return Event(AT + timedelta(seconds=seconds), grams)


def test_append_numbers_events_and_pending_returns_the_oldest(tmp_path):
    outbox = Outbox(tmp_path / "o.sqlite3", first_seq=1)
    assert [outbox.append(event(grams, grams)) for grams in (10, 20, 30)] == [1, 2, 3]
    assert outbox.append(event(5), diner_ref="card-17", category="trimmings") == 4
    assert outbox.pending(2) == [Item(1, AT + timedelta(seconds=10), 10), Item(2, AT + timedelta(seconds=20), 20)]
    last = outbox.pending(10)[-1]
    assert (last.diner_ref, last.category, last.measured_at.tzinfo) == ("card-17", "trimmings", UTC)
    assert outbox.depth() == 4


def test_numbers_are_never_reused_after_removal_or_restart(tmp_path):
    path = tmp_path / "o.sqlite3"
    outbox = Outbox(path, first_seq=1)
    seqs = [outbox.append(event(grams)) for grams in (1, 2, 3)]
    outbox.remove(seqs)
    assert outbox.pending(10) == [] and outbox.depth() == 0
    outbox.close()
    reopened = Outbox(path, first_seq=1)  # first_seq only applies to a new file
    assert reopened.append(event(4)) == 4
    assert reopened.next_seq() == 5


def test_a_new_outbox_numbers_from_the_clock_so_a_lost_one_is_not_repeated(tmp_path):
    before = time.time_ns() // 1000
    first = Outbox(tmp_path / "first.sqlite3")
    old_seqs = [first.append(event(grams)) for grams in range(50)]
    assert old_seqs[0] >= before and old_seqs == list(range(old_seqs[0], old_seqs[0] + 50))
    replacement = Outbox(tmp_path / "replacement.sqlite3")
    assert replacement.append(event(1)) > old_seqs[-1]


def test_rejected_events_are_moved_aside_with_the_reason(tmp_path):
    outbox = Outbox(tmp_path / "o.sqlite3", first_seq=100)
    for grams in (10, -3, 20):
        outbox.append(event(grams))
    outbox.reject([Rejection(101, "grams", "grams must not be negative"), Rejection(999, None, "unknown")], AT)
    assert [item.seq for item in outbox.pending(10)] == [100, 102]
    [rejected] = outbox.rejected()
    assert (rejected.item.seq, rejected.item.grams, rejected.field, rejected.reason, rejected.rejected_at) == (
        101, -3, "grams", "grams must not be negative", AT)


def test_segmenter_state_is_stored_with_the_event(tmp_path):
    path = tmp_path / "o.sqlite3"
    outbox = Outbox(path)
    assert outbox.load_state() is None
    outbox.append(event(40), state={"armed": False})
    outbox.close()
    reopened = Outbox(path)
    assert reopened.load_state() == {"armed": False}
    reopened.save_state({"armed": True})
    assert reopened.load_state() == {"armed": True}


def test_file_is_in_wal_mode(tmp_path):
    Outbox(tmp_path / "o.sqlite3").close()
    with sqlite3.connect(tmp_path / "o.sqlite3") as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_threads_appending_at_once_get_distinct_consecutive_numbers(tmp_path):
    outbox = Outbox(tmp_path / "o.sqlite3", first_seq=1)
    with ThreadPoolExecutor(max_workers=4) as pool:
        seqs = list(pool.map(lambda grams: outbox.append(event(grams)), range(200)))
    assert sorted(seqs) == list(range(1, 201))
    assert sorted(item.grams for item in outbox.pending(500)) == list(range(200))


APPENDER = """
import sys
from datetime import UTC, datetime
from canteen.scale_driver.outbox import Outbox
from canteen.scale_driver.segmenter import Event
outbox = Outbox(sys.argv[1], first_seq=1)
while True:
    print(outbox.append(Event(datetime.now(UTC), 25), state={"armed": True}), flush=True)
"""


def test_every_acknowledged_append_survives_kill_9(tmp_path):
    path = tmp_path / "o.sqlite3"
    process = subprocess.Popen([sys.executable, "-c", APPENDER, str(path)], stdout=subprocess.PIPE, text=True)
    acknowledged = [int(process.stdout.readline()) for _ in range(200)]
    process.send_signal(signal.SIGKILL)
    process.wait()
    outbox = Outbox(path)
    stored = [item.seq for item in outbox.pending(100_000)]
    assert acknowledged == list(range(1, 201))
    assert stored[:200] == acknowledged and stored == list(range(1, len(stored) + 1))
    assert outbox.append(event(1)) == len(stored) + 1
    assert outbox.load_state() == {"armed": True}
