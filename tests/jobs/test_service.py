"""Background jobs run under a per-job lock: once across processes, results recorded, failures kept."""
import threading
import time
from datetime import UTC, date, datetime

import pytest
from sqlmodel import Session, select

from canteen.auth import service as auth_service
from canteen.auth.models import User
from canteen.jobs import service as jobs
from canteen.org.models import Meal
from canteen.reservation import service as reservation_service
from canteen.reservation.models import Booking, RecurringCreate
from canteen.weighing import service as weighing_service
from canteen.weighing.models import StaleRollup


def test_refresh_rollups_recomputes_the_days_marked_stale(engine, org, clock):
    with Session(engine) as session:
        weighing_service.mark_stale(session, org.canteens["a"], [date(2026, 11, 20), date(2026, 11, 21)])
        session.commit()
    assert jobs.run(engine, "refresh-rollups", clock) == "2 stale canteen-days recomputed"
    with Session(engine) as session:
        assert session.exec(select(StaleRollup)).all() == []
    run = jobs.runs(engine)["refresh-rollups"]
    assert run.last_ok and run.holder is None and run.last_finished == clock()


def test_recurring_bookings_are_made_as_days_come_into_the_horizon(engine, org, clock):
    with Session(engine) as session:
        diner = auth_service.scope_for(session, session.get(User, org.users["diner_a"]))
        _, made = reservation_service.create_recurring(session, diner, RecurringCreate(
            canteen_id=org.canteens["a"], meal=Meal.lunch, days="1,2,3,4,5,6,7", starts=date(2026, 11, 24)), clock())
        session.commit()
    clock.advance(days=3)
    assert jobs.run(engine, "recurring-bookings", clock) == "3 bookings made from recurring patterns"
    assert jobs.run(engine, "recurring-bookings", clock) == "0 bookings made from recurring patterns"
    with Session(engine) as session:
        days = session.exec(select(Booking.service_date).where(Booking.recurring_id.is_not(None))).all()
    assert len(days) == len(made) + 3 and len(set(days)) == len(days)


def test_a_held_lock_skips_the_run_until_its_lease_ends(engine, org, clock):
    with Session(engine) as session:
        session.add(jobs.JobRun(name="nightly-rollups", holder="other-host:1", locked_until=clock() + jobs.LEASE,
                                last_started=clock()))
        session.commit()
    assert jobs.run(engine, "nightly-rollups", clock) is None
    clock.advance(hours=1, seconds=1)
    assert jobs.run(engine, "nightly-rollups", clock) == "yesterday's rollups recomputed for 3 canteens"


@pytest.fixture
def extra_job():
    """A job of the test's own, removed afterwards."""
    added = []

    def add(name: str, work) -> str:
        jobs.JOBS[name] = jobs.Job(name, {"hour": 3}, "test job", work)
        added.append(name)
        return name

    yield add
    for name in added:
        del jobs.JOBS[name]


def test_a_failing_job_is_recorded_and_its_lock_released(engine, clock, extra_job):
    def broken(session, now):
        raise RuntimeError("disk full")

    name = extra_job("broken", broken)
    with pytest.raises(RuntimeError):
        jobs.run(engine, name, clock)
    run = jobs.runs(engine)[name]
    assert (run.last_ok, run.last_result, run.holder) == (False, "RuntimeError: disk full", None)


def test_two_processes_due_at_once_run_the_job_once(engine, clock, extra_job):
    calls = []

    def slow(session, now):
        calls.append(now)
        time.sleep(0.5)
        return "done"

    name = extra_job("slow", slow)
    results = []
    threads = [threading.Thread(target=lambda: results.append(jobs.run(engine, name, clock))) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results.count("done") == 1 and results.count(None) == 2 and len(calls) == 1


def test_an_unknown_job_is_refused(engine):
    with pytest.raises(jobs.UnknownJob):
        jobs.run(engine, "no-such-job")


def test_forecast_snapshots_are_taken_once_the_cutoff_passes(engine, org, clock):
    wednesday = date(2026, 11, 25)
    with Session(engine) as session:
        session.add(Booking(diner_id=org.users["diner_a"], canteen_id=org.canteens["a"], service_date=wednesday,
                            meal=Meal.lunch, token="bk_snapshot", created_at=clock()))
        session.commit()
    clock.now = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)  # 16:00 in Shanghai the day before
    assert jobs.run(engine, "forecast-snapshots", clock) == "1 forecast snapshots taken"
    assert jobs.run(engine, "forecast-snapshots", clock) == "0 forecast snapshots taken"


def test_the_monthly_assessment_scores_the_month_that_just_ended_in_the_deployments_zone(engine, org, clock):
    # 02:30 on 1 December in Shanghai, when the job is scheduled, is still 30 November in UTC.
    clock.now = datetime(2026, 11, 30, 18, 30, tzinfo=UTC)
    assert jobs.run(engine, "monthly-assessment", clock).startswith("2026-11: 3 scorecards")
