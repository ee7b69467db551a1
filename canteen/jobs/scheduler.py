"""APScheduler in the server process: the jobs of canteen.jobs on their cron schedules, kept in the database.

The job store is the application's database, so schedules and next run times survive restarts; a run that
was missed while no server was up is made up once (coalesce) if it is less than MISFIRE_GRACE late.
"""
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger

from canteen import db
from canteen.jobs import service as jobs

MISFIRE_GRACE_SECONDS = 6 * 3600


def run_scheduled(name: str, database_url: str) -> None:
    """What the scheduler calls (by reference, so the job store can persist it); runs under the job's lock."""
    jobs.run(db.shared_engine(database_url), name)


def start(database_url: str, timezone: str) -> BackgroundScheduler:
    scheduler = BackgroundScheduler(
        jobstores={"default": SQLAlchemyJobStore(engine=db.shared_engine(database_url))},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": MISFIRE_GRACE_SECONDS},
        timezone=timezone)
    for job in jobs.JOBS.values():
        scheduler.add_job(f"{__name__}:run_scheduled", CronTrigger(**job.schedule, timezone=timezone),
                          args=[job.name, database_url], id=job.name, name=job.description, replace_existing=True)
    scheduler.start()
    return scheduler
