"""Each scheduled slot (job, time it was due) runs once, however many schedulers fire it; `canteen scheduler`."""
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from sqlmodel import Session
from typer.testing import CliRunner

from canteen import cli
from canteen.jobs import scheduler
from canteen.jobs import service as jobs

TIMEZONE = "Asia/Shanghai"
SHANGHAI = ZoneInfo(TIMEZONE)
SLOT = datetime(2026, 11, 23, 10, 0, tzinfo=SHANGHAI)


@pytest.fixture
def counted_job():
    """A job of the test's own that counts its runs (slow enough for concurrent attempts to overlap)."""
    calls: list[datetime] = []

    def work(session, now):
        calls.append(now)
        time.sleep(0.3)
        return f"run {len(calls)}"

    jobs.JOBS["counted"] = jobs.Job("counted", {"minute": 0}, "test job", work)
    yield calls
    del jobs.JOBS["counted"]


def run_at_once(target, count: int = 3) -> list:
    results: list = []
    threads = [threading.Thread(target=lambda: results.append(target())) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_schedulers_firing_the_same_slot_at_once_run_it_once(engine, clock, counted_job):
    results = run_at_once(lambda: jobs.run_slot(engine, "counted", SLOT, clock))
    assert sorted(results, key=str) == [None, None, "run 1"] and len(counted_job) == 1
    [slot] = jobs.slots(engine, "counted")
    assert (slot.slot, slot.ok, slot.result, slot.finished_at) == (SLOT, True, "run 1", clock())


def test_a_slot_already_run_is_not_run_again_by_a_later_scheduler(engine, clock, counted_job):
    """The case the job lock alone lets through: the first run ended before the second scheduler fired."""
    assert jobs.run_slot(engine, "counted", SLOT, clock) == "run 1"
    clock.advance(minutes=1)
    assert jobs.run_slot(engine, "counted", SLOT, clock) is None
    assert jobs.run_slot(engine, "counted", SLOT.astimezone(UTC), clock) is None  # the same instant
    assert len(counted_job) == 1


def test_the_next_slot_runs_again(engine, clock, counted_job):
    assert jobs.run_slot(engine, "counted", SLOT, clock) == "run 1"
    next_slot = datetime(2026, 11, 23, 11, 0, tzinfo=SHANGHAI)
    assert jobs.run_slot(engine, "counted", next_slot, clock) == "run 2"
    assert [slot.slot for slot in jobs.slots(engine, "counted")] == [SLOT, next_slot]


def test_a_failing_slot_is_recorded_and_not_retried(engine, clock):
    def broken(session, now):
        raise RuntimeError("disk full")

    jobs.JOBS["broken"] = jobs.Job("broken", {"minute": 0}, "test job", broken)
    try:
        with pytest.raises(RuntimeError):
            jobs.run_slot(engine, "broken", SLOT, clock)
        assert jobs.run_slot(engine, "broken", SLOT, clock) is None
        [slot] = jobs.slots(engine, "broken")
        assert (slot.ok, slot.result) == (False, "RuntimeError: disk full")
        assert jobs.runs(engine)["broken"].holder is None  # the job's lock is released too
    finally:
        del jobs.JOBS["broken"]


def test_a_slot_due_while_a_manual_run_holds_the_job_is_recorded_as_skipped(engine, clock, counted_job):
    with Session(engine) as session:
        session.add(jobs.JobRun(name="counted", holder="other-host:1", locked_until=clock() + jobs.LEASE))
        session.commit()
    assert jobs.run_slot(engine, "counted", SLOT, clock) is None
    [slot] = jobs.slots(engine, "counted")
    assert (slot.ok, slot.result) == (None, jobs.SKIPPED) and counted_job == []


def test_slots_older_than_the_memory_are_deleted_as_a_new_one_finishes(engine, clock, counted_job):
    old = datetime(2026, 8, 24, 10, 0, tzinfo=SHANGHAI)  # 91 days before SLOT
    kept = datetime(2026, 8, 25, 10, 0, tzinfo=SHANGHAI)  # 90 days before: not older than the memory
    for slot in (old, kept, SLOT):
        jobs.run_slot(engine, "counted", slot, clock)
    assert [slot.slot for slot in jobs.slots(engine, "counted")] == [kept, SLOT]


def test_an_unknown_job_has_no_slot(engine):
    with pytest.raises(jobs.UnknownJob):
        jobs.run_slot(engine, "no-such-job", SLOT)
    assert jobs.slots(engine, "no-such-job") == []


@pytest.mark.parametrize(("schedule", "now", "due"), [
    ({"minute": "*/10"}, datetime(2026, 11, 23, 10, 9, 59, tzinfo=SHANGHAI), datetime(2026, 11, 23, 10, 0)),
    ({"minute": "*/10"}, datetime(2026, 11, 23, 10, 10, 0, 5000, tzinfo=SHANGHAI), datetime(2026, 11, 23, 10, 10)),
    ({"hour": 1, "minute": 5}, datetime(2026, 11, 23, 4, 0, tzinfo=SHANGHAI), datetime(2026, 11, 23, 1, 5)),
    ({"day": 1, "hour": 2, "minute": 30}, datetime(2026, 11, 30, 18, 30, 1, tzinfo=UTC), datetime(2026, 12, 1, 2, 30)),
], ids=["every-10-min", "just-due", "nightly-made-up-late", "monthly-from-utc"])
def test_the_slot_a_run_belongs_to_is_the_latest_due_time(schedule, now, due):
    assert scheduler.due_slot(schedule, TIMEZONE, now) == due.replace(tzinfo=SHANGHAI)


def test_two_schedulers_calling_the_same_due_job_run_it_once(engine, database_url, counted_job):
    results = run_at_once(lambda: scheduler.run_scheduled("counted", database_url, TIMEZONE), count=2)
    assert results == [None, None] and len(counted_job) == 1  # hourly: both calls fall in this hour's slot
    [slot] = jobs.slots(engine, "counted")
    assert slot.slot == datetime.now(SHANGHAI).replace(minute=0, second=0, microsecond=0)


def test_scheduler_help():
    result = CliRunner().invoke(cli.app, ["scheduler", "--help"])
    assert result.exit_code == 0 and "SIGTERM" in result.stdout


def test_the_scheduler_refuses_a_database_without_the_schema(tmp_path):
    result = subprocess.run([sys.executable, "-m", "canteen.cli", "scheduler"], capture_output=True, text=True,
                            timeout=60, env={**os.environ, "CANTEEN_LANGUAGE": "en",
                                             "CANTEEN_DATABASE_URL": f"sqlite:///{tmp_path / 'empty.db'}"})
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        "error: database: the database has no canteen tables yet; run `canteen db upgrade`"]


def test_the_scheduler_process_starts_and_stops_on_sigterm(engine, database_url):
    process = subprocess.Popen([sys.executable, "-m", "canteen.cli", "scheduler"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "CANTEEN_DATABASE_URL": database_url})
    try:
        # The bound is for a scheduler that hangs: on a loaded machine importing the app alone can take ten seconds.
        deadline = time.monotonic() + 90
        while stored_jobs(engine) != len(jobs.JOBS):
            assert process.poll() is None, process.communicate()[1]
            assert time.monotonic() < deadline, "the scheduler did not store its jobs within 90 s"
            time.sleep(0.2)
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=10)
        assert process.returncode == 0, stderr
        assert "Traceback" not in stderr
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        with engine.begin() as connection:  # APScheduler's own table is not part of the migrations
            connection.execute(sa.text("DROP TABLE IF EXISTS apscheduler_jobs"))


def stored_jobs(engine) -> int:
    try:
        with engine.connect() as connection:
            return connection.execute(sa.text("SELECT count(*) FROM apscheduler_jobs")).scalar() or 0
    except sa.exc.DBAPIError:
        return 0
