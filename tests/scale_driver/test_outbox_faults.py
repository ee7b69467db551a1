"""A damaged, truncated, missing or foreign outbox: the gateway refuses to start with one line naming the way out,
and `canteen-gateway outbox …` recovers every row that can still be read. Also: the outbox's size stays
proportional to what waits in it."""
import json
import os
import shutil
import sqlite3
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from canteen.scale_driver import gateway_main
from canteen.scale_driver.gateway_cli import gateway_app
from canteen.scale_driver.outbox import Outbox, Rejection
from canteen.scale_driver.segmenter import Event

AT = datetime(2026, 11, 23, 4, 30, tzinfo=UTC)
PAGE = 4096
GATEWAY = ["--port", "loop://", "--protocol", "ascii-st-gs", "--station-key", "stk_x", "--server", "http://127.0.0.1:9"]
SALVAGE_HINT = "run `canteen-gateway outbox salvage --outbox {path}`"


def written(count: int) -> list[tuple[int, datetime, int, str]]:
    """The events the tests queue: (seq, time, grams, diner_ref); the long diner_ref spreads them over pages."""
    return [(seq, AT + timedelta(seconds=seq), 100 + seq, f"card-{seq:060d}") for seq in range(1, count + 1)]


def queue(path: Path, count: int) -> list[tuple[int, datetime, int, str]]:
    outbox = Outbox(path, first_seq=1)
    events = written(count)
    for seq, at, grams, diner_ref in events:
        assert outbox.append(Event(at, grams), diner_ref=diner_ref, state={"armed": True}) == seq
    outbox.close()
    return events


def contents(path: Path) -> list[tuple[int, datetime, int, str]]:
    outbox = Outbox(path)
    try:
        return [(item.seq, item.measured_at, item.grams, item.diner_ref) for item in outbox.pending(100_000)]
    finally:
        outbox.close()


def run_gateway(outbox: Path, capsys) -> str:
    """`canteen-gateway` on this outbox; it must refuse with exit 2 and one `error:` line, which is returned."""
    with pytest.raises(SystemExit) as exited:
        gateway_main.main([*GATEWAY, "--outbox", str(outbox)])
    captured = capsys.readouterr()
    assert exited.value.code == 2 and captured.out == ""
    [line] = captured.err.splitlines()
    assert line.startswith("error: ")
    return line


def run_outbox(*args: str, capsys) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exited:
        gateway_main.main(["outbox", *args])
    captured = capsys.readouterr()
    return exited.value.code, captured.out, captured.err


def overwrite(path: Path, offset: int, data: bytes) -> None:
    with path.open("r+b") as stream:
        stream.seek(offset)
        stream.write(data)


def truncate_to_zero(path: Path) -> None:
    path.write_bytes(b"")


def truncate_to_half(path: Path) -> None:
    os.truncate(path, path.stat().st_size // 2)


def damage_header(path: Path) -> None:
    overwrite(path, 0, bytes(range(100)))


def damage_last_page(path: Path) -> None:
    overwrite(path, path.stat().st_size - PAGE, b"\xa5" * PAGE)


def remove(path: Path) -> None:
    path.unlink()


DAMAGE = {
    "0 bytes": (truncate_to_zero, "is empty (0 bytes)"),
    "half": (truncate_to_half, "is shorter than its header says"),
    "header": (damage_header, "is not an SQLite database"),
    "last page": (damage_last_page, "is damaged"),
    "missing": (remove, "is missing"),
}


@pytest.mark.parametrize("damage", DAMAGE)
def test_a_damaged_outbox_with_25_waiting_stops_the_gateway_with_one_line_naming_salvage(damage, tmp_path, capsys):
    path = tmp_path / "outbox.sqlite3"
    queue(path, 25)
    spoil, problem = DAMAGE[damage]
    spoil(path)
    line = run_gateway(path, capsys)
    assert problem in line and "its state file says 25 events were waiting" in line
    assert SALVAGE_HINT.format(path=path) in line
    assert not path.exists() or damage != "missing"  # nothing created in its place


def test_an_outbox_replaced_by_an_older_copy_is_refused(tmp_path, capsys):
    path = tmp_path / "outbox.sqlite3"
    queue(path, 5)
    shutil.copyfile(path, tmp_path / "old.sqlite3")
    outbox = Outbox(path)
    outbox.append(Event(AT, 1))
    outbox.close()
    shutil.copyfile(tmp_path / "old.sqlite3", path)
    line = run_gateway(path, capsys)
    assert "is older than its state file (next event 6, the state file says 7)" in line


def foreign_text(path: Path) -> None:
    path.write_text("root:x:0:0:root:/root:/bin/bash\n")


def foreign_database(path: Path) -> None:
    with closing(sqlite3.connect(path)) as db:
        db.execute("CREATE TABLE booking (id INTEGER PRIMARY KEY, diner TEXT)")
        db.commit()


@pytest.mark.parametrize("make, problem", [
    (foreign_text, "is not an SQLite database (32 bytes"),
    (foreign_database, "is an SQLite database but not a gateway outbox (tables: booking)"),
    (Path.mkdir, "is a directory"),
])
def test_a_file_that_is_not_an_outbox_is_refused_and_left_as_it_was(make, problem, tmp_path, capsys):
    path = tmp_path / "given"
    make(path)
    before = path.read_bytes() if path.is_file() else None
    line = run_gateway(path, capsys)
    assert problem in line and "give --outbox the gateway's outbox file" in line
    assert (path.read_bytes() if path.is_file() else None) == before
    assert sorted(tmp_path.iterdir()) == [path]


def test_a_new_outbox_and_one_from_before_the_state_file_still_open(tmp_path):
    Outbox(tmp_path / "new.sqlite3").close()
    assert json.loads((tmp_path / "new.sqlite3.state").read_text())["queued"] == 0
    old = tmp_path / "old.sqlite3"
    queue(old, 3)
    (tmp_path / "old.sqlite3.state").unlink()  # an outbox written before there were state files
    assert [seq for seq, *_ in contents(old)] == [1, 2, 3]
    assert json.loads((tmp_path / "old.sqlite3.state").read_text())["next_seq"] == 4


def test_check_says_what_it_found(tmp_path, capsys):
    path = tmp_path / "outbox.sqlite3"
    queue(path, 4)
    assert run_outbox("check", "--outbox", str(path), capsys=capsys)[:2] == (
        0, f"ok: {path}: 4 events waiting, 0 rejected, next event number 5\n")
    assert sorted(tmp_path.iterdir()) == [path, tmp_path / "outbox.sqlite3.state"]  # checking leaves no -wal/-shm
    damage_last_page(path)
    code, out, _ = run_outbox("check", "--outbox", str(path), capsys=capsys)
    assert code == 1 and out.startswith(f"damaged: the outbox {path} is damaged")
    assert run_outbox("check", "--outbox", str(tmp_path / "nope"), capsys=capsys)[0] == 1


def aside(path: Path) -> Path:
    [kept] = [other for other in path.parent.iterdir()
              if other.name.startswith(f"{path.name}.damaged-") and other.name.endswith("Z")]
    return kept


def salvage(path: Path, capsys) -> str:
    code, out, err = run_outbox("salvage", "--outbox", str(path), capsys=capsys)
    assert (code, err) == (0, "")
    return out


def test_salvage_after_a_damaged_header_recovers_all_25(tmp_path, capsys):
    path = tmp_path / "outbox.sqlite3"
    events = queue(path, 25)
    damage_header(path)
    damaged = path.read_bytes()
    out = salvage(path, capsys)
    assert "salvaged 25 waiting and 0 rejected events" in out and "header was damaged and was rebuilt" in out
    assert contents(path) == events
    assert aside(path).read_bytes() == damaged  # kept aside as it was
    outbox = Outbox(path)
    assert outbox.load_state() == {"armed": True}
    assert outbox.append(Event(AT, 1)) > 25  # numbering goes on after every number seen
    outbox.close()


def test_salvage_after_a_damaged_last_page_recovers_every_row_on_the_other_pages(tmp_path, capsys):
    path = tmp_path / "outbox.sqlite3"
    events = queue(path, 300)  # about 40 events to a page
    damage_last_page(path)
    out = salvage(path, capsys)
    recovered = contents(path)
    lost = len(events) - len(recovered)
    # The last page holds the newest events: those are lost, at most a page of them; the others are all there.
    assert recovered == events[:len(recovered)] and 0 < lost <= PAGE // 80
    assert f"salvaged {len(recovered)} waiting" in out and f"{lost} could not be read and are lost" in out


def test_salvage_after_truncation_to_half_recovers_the_rows_in_the_half_left(tmp_path, capsys):
    path = tmp_path / "outbox.sqlite3"
    events = queue(path, 1000)
    pages = path.stat().st_size // PAGE
    truncate_to_half(path)
    salvage(path, capsys)
    recovered = contents(path)
    # The first 7 pages are the header, the pointer map and the tables' roots; the event table's leaves follow,
    # in the order they were filled, each with at least 30 of these events. The page cut in the middle has the
    # rows it kept whole, the rows zeroed in part are left out: every row recovered is exactly as written.
    assert set(recovered) <= set(events) and recovered == sorted(recovered)
    assert (pages // 2 - 7) * 30 <= len(recovered) < len(events)


def test_salvage_of_an_empty_outbox_says_how_many_were_lost_and_numbers_on(tmp_path, capsys):
    path = tmp_path / "outbox.sqlite3"
    queue(path, 25)
    truncate_to_zero(path)
    out = salvage(path, capsys)
    assert "its state file said 25 events were waiting: 25 could not be read and are lost" in out
    assert contents(path) == [] and aside(path).stat().st_size == 0
    outbox = Outbox(path)
    assert outbox.append(Event(AT, 1)) > 25
    outbox.close()


def test_salvage_refuses_a_sound_outbox_and_a_foreign_file(tmp_path, capsys):
    path = tmp_path / "outbox.sqlite3"
    queue(path, 2)
    code, _, err = run_outbox("salvage", "--outbox", str(path), capsys=capsys)
    assert code == 2 and err == f"error: the outbox {path} is sound (2 events waiting): there is nothing to salvage\n"
    other = tmp_path / "notes.txt"
    other.write_text("not an outbox")
    code, _, err = run_outbox("salvage", "--outbox", str(other), capsys=capsys)
    assert code == 2 and "it is not an outbox this command may replace" in err
    assert other.read_text() == "not an outbox"


def test_rejected_events_are_listed_and_requeued(tmp_path, capsys):
    path = tmp_path / "outbox.sqlite3"
    queue(path, 3)
    outbox = Outbox(path)
    outbox.reject([Rejection(1, "grams", "too heavy"), Rejection(3, None, "station retired")], AT)
    outbox.close()
    code, out, err = run_outbox("list-rejected", "--outbox", str(path), capsys=capsys)
    assert code == 0 and out.splitlines() == [
        f"1  {AT + timedelta(seconds=1):%Y-%m-%dT%H:%M:%S+00:00}  101 g  rejected {AT.isoformat()}: grams: too heavy",
        f"3  {AT + timedelta(seconds=3):%Y-%m-%dT%H:%M:%S+00:00}  103 g  rejected {AT.isoformat()}: station retired"]
    assert err == "2 rejected events\n"
    code, out, _ = run_outbox("list-rejected", "--outbox", str(path), "--json", capsys=capsys)
    assert [json.loads(line)["reason"] for line in out.splitlines()] == ["too heavy", "station retired"]
    code, out, err = run_outbox("requeue", "--outbox", str(path), "--seq", "3", "--seq", "7", capsys=capsys)
    assert (code, out, err) == (1, "1 rejected events put back in the queue: 3\n",
                                "not among the rejected events: 7\n")
    assert [seq for seq, *_ in contents(path)] == [2, 3]
    assert run_outbox("requeue", "--outbox", str(path), "--all", capsys=capsys)[:2] == (
        0, "1 rejected events put back in the queue: 1\n")
    assert [seq for seq, *_ in contents(path)] == [1, 2, 3]
    code, _, err = run_outbox("requeue", "--outbox", str(tmp_path / "nope.sqlite3"), "--all", capsys=capsys)
    assert code == 2 and err == f"error: there is no outbox at {tmp_path / 'nope.sqlite3'}\n"


def test_canteen_gateway_outbox_is_the_same_command(tmp_path):
    path = tmp_path / "outbox.sqlite3"
    queue(path, 25)
    truncate_to_zero(path)
    runner = CliRunner()
    result = runner.invoke(gateway_app, ["outbox", "check", "--outbox", str(path)], prog_name="canteen gateway")
    assert result.exit_code == 1 and "is empty (0 bytes): its state file says 25 events were waiting" in result.output
    result = runner.invoke(gateway_app, ["outbox", "salvage", "--outbox", str(path)], prog_name="canteen gateway")
    assert result.exit_code == 0 and "25 could not be read and are lost" in result.output
    result = runner.invoke(gateway_app, ["outbox", "requeue", "--outbox", str(path)], prog_name="canteen gateway")
    assert result.exit_code == 2 and "give --seq (one or more) or --all" in result.output
    result = runner.invoke(gateway_app, [*GATEWAY, "--outbox", str(tmp_path)], prog_name="canteen gateway",
                           env={"COLUMNS": "500"})
    assert result.exit_code == 2 and "is a directory" in result.output and "Traceback" not in result.output


def test_the_outbox_stays_as_large_as_what_waits_in_it_over_500_events(tmp_path):
    """Appends with the segmenter's state saves around each, as the gateway makes them, and the uploader's
    removals in batches: the WAL never passes its checkpoint interval and the file shrinks back when drained."""
    path = tmp_path / "outbox.sqlite3"
    wal = tmp_path / "outbox.sqlite3-wal"
    outbox = Outbox(path)
    largest_wal = 0
    for index in range(500):
        for armed in (False, True, False):
            outbox.save_state({"armed": armed, "index": index})
        outbox.append(Event(AT + timedelta(seconds=index), 250), state={"armed": False})
        if index % 50 == 49:
            outbox.remove(item.seq for item in outbox.pending(50))
        largest_wal = max(largest_wal, wal.stat().st_size)
    assert outbox.depth() == 0
    # 100 pages between automatic checkpoints (4 KB and a 24-byte frame header each), one transaction beyond.
    assert largest_wal <= (100 + 4) * (PAGE + 24) + 32
    assert wal.stat().st_size == 0 and path.stat().st_size <= 8 * PAGE
    outbox.close()
