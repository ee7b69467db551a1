"""Background jobs, the lock that keeps two runs of a job from overlapping, and the record of scheduled slots.

Every run first takes the job's row in `jobrun` with a conditional UPDATE (free, or its lease expired), so
two runs never overlap; the row also keeps the last run's start, end and result for `canteen jobs list`.
A scheduled run is first claimed in `jobslot` by inserting (job, scheduled time) with insert-or-ignore, so
a slot that several schedulers (or server workers) fire runs exactly once, even when the first run ended
before the next scheduler got to it.
"""
import logging
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from canteen import metrics
from canteen.assessment import rectification
from canteen.assessment import runs as assessment_runs
from canteen.auth import service as auth_service
from canteen.config import get_settings
from canteen.db import table_of
from canteen.jobs.models import RESULT_LENGTH, JobRun, JobSlot
from canteen.org.models import Canteen
from canteen.points import push as points_push
from canteen.reservation import service as reservation_service
from canteen.reservation.forecast import snapshots
from canteen.weighing import partitions
from canteen.weighing import service as weighing_service

log = logging.getLogger(__name__)
LEASE = timedelta(hours=1)  # a run that crashed without releasing its lock blocks the job this long at most
SLOT_MEMORY = timedelta(days=90)  # slots older than this are deleted as a newer slot of the job finishes
SKIPPED = "skipped: the job was running in another process"


@dataclass(frozen=True)
class Job:
    name: str
    schedule: dict  # APScheduler cron fields, in the deployment's time zone
    description: str
    run: Callable[[Session, datetime], str]  # does the work in the session and returns a one-line summary


def _refresh_rollups(session: Session, now: datetime) -> str:
    return f"{weighing_service.refresh_stale(session, now)} stale canteen-days recomputed"


def _nightly_rollups(session: Session, now: datetime) -> str:
    """Yesterday recomputed for every canteen, in its own zone: late plates and corrections all land."""
    canteens = session.exec(select(Canteen)).all()
    for canteen in canteens:
        assert canteen.id is not None
        yesterday = now.astimezone(ZoneInfo(canteen.timezone)).date() - timedelta(days=1)
        weighing_service.recompute_rollups(session, canteen.id, [yesterday], now)
    return f"yesterday's rollups recomputed for {len(canteens)} canteens"


def _recurring_bookings(session: Session, now: datetime) -> str:
    created = reservation_service.materialise_recurring(session, now)
    return f"{len(created)} bookings made from recurring patterns"


def _forecast_snapshots(session: Session, now: datetime) -> str:
    return f"{snapshots.take_due_snapshots(session, now)} forecast snapshots taken"


def _deployment_today(now: datetime) -> date:
    """The date in the deployment's zone, the one the schedules fire in (Settings.timezone)."""
    return now.astimezone(ZoneInfo(get_settings().timezone)).date()


def _monthly_assessment(session: Session, now: datetime) -> str:
    """Last month (and last quarter when it just closed): scorecards and draft bulletins."""
    periods = assessment_runs.previous_periods(_deployment_today(now))
    return "; ".join(assessment_runs.run_period(session, period, now) for period in periods)


def _self_evaluation_reminders(session: Session, now: datetime) -> str:
    reminded = assessment_runs.remind_self_evaluations(session, _deployment_today(now), now)
    return f"{reminded} canteens reminded of their quarterly self-evaluation"


def _overdue_rectification(session: Session, now: datetime) -> str:
    return f"{rectification.flag_overdue(session, now)} rectification notices newly overdue"


def _plate_partitions(session: Session, now: datetime) -> str:
    return partitions.create_ahead(session, now)


def _prune_expired(session: Session, now: datetime) -> str:
    hours = get_settings().login_memory_hours
    pruned = auth_service.prune_expired(session, now, timedelta(hours=hours))
    return (f"{pruned['sessions']} expired sessions, {pruned['tokens']} expired API tokens and "
            f"{pruned['attempts']} sign-in attempts older than {hours} h deleted")


def _points_push(session: Session, now: datetime) -> str:
    return points_push.push_due(session, now).summary()


JOBS: dict[str, Job] = {job.name: job for job in (
    Job("refresh-rollups", {"minute": "*/10"}, "recompute rollups of days with new or corrected data",
        _refresh_rollups),
    Job("nightly-rollups", {"hour": 1, "minute": 5}, "recompute yesterday's rollups for every canteen",
        _nightly_rollups),
    Job("recurring-bookings", {"hour": 0, "minute": 20}, "book the coming days of recurring bookings",
        _recurring_bookings),
    Job("forecast-snapshots", {"minute": "*/15"}, "keep the headcount forecast of meals whose booking cut-off passed",
        _forecast_snapshots),
    Job("monthly-assessment", {"day": 1, "hour": 2, "minute": 30},
        "score last month (and a closed quarter) for every canteen and draft the bulletins", _monthly_assessment),
    Job("self-evaluation-reminders", {"month": "3,6,9,12", "day": 1, "hour": 8},
        "open the quarter's self-evaluation for every canteen", _self_evaluation_reminders),
    Job("overdue-rectification", {"hour": 0, "minute": 40}, "flag rectification notices past their deadline",
        _overdue_rectification),
    Job("plate-partitions", {"hour": 0, "minute": 10},
        "create the coming months' partitions of plate weighings (PostgreSQL)", _plate_partitions),
    Job("prune-expired", {"hour": 3, "minute": 50},
        "delete expired web sessions and API tokens, and sign-in attempts past the throttle's memory", _prune_expired),
    Job("points-push", {"minute": "*/10"}, "push the diners' points of days that are over to the bureaus' webhooks",
        _points_push),
)}


class UnknownJob(LookupError):
    pass


def _holder() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _insert_ignore(engine: Engine, model: type[JobRun] | type[JobSlot] = JobRun):
    dialect = postgresql if engine.dialect.name == "postgresql" else sqlite
    return dialect.insert(table_of(model))


def _acquire(engine: Engine, name: str, holder: str, now: datetime) -> bool:
    table = table_of(JobRun)
    with engine.begin() as connection:
        connection.execute(_insert_ignore(engine).values(name=name, last_result="").on_conflict_do_nothing())
        taken = connection.execute(
            sa.update(table).where(table.c.name == name,
                                   sa.or_(table.c.locked_until.is_(None), table.c.locked_until < now))
            .values(holder=holder, locked_until=now + LEASE, last_started=now))
        return taken.rowcount == 1


def _release(engine: Engine, name: str, holder: str, ok: bool, result: str, now: datetime) -> None:
    table = table_of(JobRun)
    with engine.begin() as connection:
        connection.execute(sa.update(table).where(table.c.name == name, table.c.holder == holder).values(
            holder=None, locked_until=None, last_finished=now, last_ok=ok, last_result=result[:RESULT_LENGTH]))


def run(engine: Engine, name: str, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> str | None:
    """Run one job now under its lock; None when another process holds it. A failing job is recorded and raised."""
    job = JOBS.get(name)
    if job is None:
        raise UnknownJob(name)
    holder = _holder()
    if not _acquire(engine, name, holder, clock()):
        log.info("job %s is running elsewhere; skipped", name)
        metrics.observe_job(name, "locked")
        return None
    started = time.monotonic()
    try:
        with Session(engine) as session:
            result = job.run(session, clock())
            session.commit()
    except Exception as error:
        _release(engine, name, holder, False, f"{type(error).__name__}: {error}", clock())
        metrics.observe_job(name, "failed", time.monotonic() - started)
        raise
    _release(engine, name, holder, True, result, clock())
    metrics.observe_job(name, "ok", time.monotonic() - started)
    log.info("job %s: %s", name, result)
    return result


def runs(engine: Engine) -> dict[str, JobRun]:
    with Session(engine) as session:
        return {row.name: row for row in session.exec(select(JobRun))}


def _claim_slot(engine: Engine, name: str, slot: datetime, holder: str, now: datetime) -> bool:
    """Insert-or-ignore the slot's row; RETURNING tells whether it landed (psycopg reports no rowcount here)."""
    with engine.begin() as connection:
        claimed = connection.execute(_insert_ignore(engine, JobSlot).values(
            name=name, slot=slot, holder=holder, started_at=now, result="").on_conflict_do_nothing()
            .returning(table_of(JobSlot).c.name))
        return claimed.first() is not None


def _finish_slot(engine: Engine, name: str, slot: datetime, ok: bool | None, result: str, now: datetime) -> None:
    table = table_of(JobSlot)
    with engine.begin() as connection:
        connection.execute(sa.update(table).where(table.c.name == name, table.c.slot == slot).values(
            finished_at=now, ok=ok, result=result[:RESULT_LENGTH]))
        connection.execute(sa.delete(table).where(table.c.name == name, table.c.slot < slot - SLOT_MEMORY))


def run_slot(engine: Engine, name: str, slot: datetime,
             clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> str | None:
    """Run the job's scheduled slot (the time it was due) once: None when another scheduler claimed the slot
    first, or when the job was running elsewhere (a manual run; the slot is then recorded as skipped)."""
    if name not in JOBS:
        raise UnknownJob(name)
    if not _claim_slot(engine, name, slot, _holder(), clock()):
        log.info("job %s: slot %s was run by another scheduler; skipped", name, slot.isoformat())
        metrics.observe_job(name, "slot_taken")
        return None
    try:
        result = run(engine, name, clock)
    except Exception as error:
        _finish_slot(engine, name, slot, False, f"{type(error).__name__}: {error}", clock())
        raise
    _finish_slot(engine, name, slot, None if result is None else True, SKIPPED if result is None else result, clock())
    return result


def slots(engine: Engine, name: str) -> list[JobSlot]:
    """The job's recorded slots, oldest first."""
    with Session(engine) as session:
        return list(session.exec(select(JobSlot).where(JobSlot.name == name).order_by(col(JobSlot.slot))))
