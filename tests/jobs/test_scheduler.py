"""The scheduler keeps its jobs in the database and runs a due job through the job lock."""
import time
from datetime import datetime

import pytest
import sqlalchemy as sa

from canteen.jobs import scheduler
from canteen.jobs import service as jobs

TIMEZONE = "Asia/Shanghai"


@pytest.fixture
def started(engine, database_url):
    running = []

    def start():
        running.append(scheduler.start(database_url, TIMEZONE))
        return running[-1]

    yield start
    for background in running:
        if background.running:
            background.shutdown(wait=True)
    with engine.begin() as connection:  # APScheduler's own table is not part of the migrations
        connection.execute(sa.text("DROP TABLE IF EXISTS apscheduler_jobs"))


def test_jobs_are_stored_once_with_their_next_runs(started, engine):
    first = started()
    assert {job.id for job in first.get_jobs()} == set(jobs.JOBS)
    nightly = first.get_job("nightly-rollups")
    assert (nightly.next_run_time.hour, nightly.next_run_time.minute) == (1, 5)
    assert str(nightly.next_run_time.tzinfo) == TIMEZONE
    first.shutdown()
    second = started()  # a restart, or a second worker: the stored jobs are replaced, not doubled
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT count(*) FROM apscheduler_jobs")).scalar() == len(jobs.JOBS)
    assert len(second.get_jobs()) == len(jobs.JOBS)


def test_a_due_job_runs_and_its_result_is_recorded(started, engine, org):
    background = started()
    background.modify_job("refresh-rollups", next_run_time=datetime.now(background.timezone))
    deadline = time.monotonic() + 15
    while (run := jobs.runs(engine).get("refresh-rollups")) is None or run.last_finished is None:
        assert time.monotonic() < deadline, "the due job did not run within 15 s"
        time.sleep(0.1)
    assert run.last_ok and run.last_result == "0 stale canteen-days recomputed"
