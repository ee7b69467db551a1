"""APScheduler: the jobs of canteen.jobs on their cron schedules, kept in the database.

It runs in the server process (CANTEEN_SCHEDULER, the default for one machine) or as its own process,
`canteen scheduler` (then CANTEEN_SCHEDULER=false for the server workers). The job store is the application's
database, so schedules and next run times survive restarts; a run that was missed while no scheduler was up
is made up once (coalesce) if it is less than MISFIRE_GRACE late. Each run claims its slot (the job and the
time it was due) first, so however many schedulers run, a slot runs once.
"""
import signal
import threading
from datetime import UTC, datetime, timedelta

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger

from canteen import db
from canteen.jobs import service as jobs

MISFIRE_GRACE_SECONDS = 6 * 3600


def due_slot(schedule: dict, timezone: str, now: datetime) -> datetime:
    """The latest time at or before now that the cron schedule was due: the slot a run fired now belongs to.

    APScheduler does not hand the scheduled time to the job, so it is found again from the same cron fields;
    a run is never more than MISFIRE_GRACE late (APScheduler drops it then), so the search starts there.
    """
    trigger = CronTrigger(**schedule, timezone=timezone)
    slot = None
    fire = trigger.get_next_fire_time(None, now - timedelta(seconds=MISFIRE_GRACE_SECONDS))
    while fire is not None and fire <= now:
        slot, fire = fire, trigger.get_next_fire_time(fire, fire + timedelta(seconds=1))
    return slot or now.replace(microsecond=0)


def run_scheduled(name: str, database_url: str, timezone: str) -> None:
    """What the scheduler calls (by reference, so the job store can persist it): the due slot, once."""
    job = jobs.JOBS.get(name)
    if job is None:
        raise jobs.UnknownJob(name)
    jobs.run_slot(db.shared_engine(database_url), name, due_slot(job.schedule, timezone, datetime.now(UTC)))


def start(database_url: str, timezone: str) -> BackgroundScheduler:
    scheduler = BackgroundScheduler(
        jobstores={"default": SQLAlchemyJobStore(engine=db.shared_engine(database_url))},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": MISFIRE_GRACE_SECONDS},
        timezone=timezone)
    for job in jobs.JOBS.values():
        scheduler.add_job(f"{__name__}:run_scheduled", CronTrigger(**job.schedule, timezone=timezone),
                          args=[job.name, database_url, timezone], id=job.name, name=job.description,
                          replace_existing=True)
    scheduler.start()
    return scheduler


def run_until_stopped(database_url: str, timezone: str) -> None:
    """The scheduler in this process until SIGTERM or SIGINT; a running job is let finish before returning."""
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    scheduler = start(database_url, timezone)
    try:
        while not stop.wait(1):
            pass
    finally:
        scheduler.shutdown(wait=True)
