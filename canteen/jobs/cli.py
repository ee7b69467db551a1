"""`canteen jobs …`: list the background jobs with their last run, or run one now (under its lock);
`canteen scheduler`: run them on their schedules in a process of their own.

The jobs and the database are imported by the commands, not by `canteen --help`.
"""
from typing import Annotated

import typer

jobs_app = typer.Typer(no_args_is_help=True, help="Background jobs: list them, run one now.")


def _time(value) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S UTC") if value else "-"


@jobs_app.command("list")
def list_command() -> None:
    """Every job with its schedule (cron fields, server time zone) and its last run."""
    from canteen import db
    from canteen.config import Settings
    from canteen.jobs import service as jobs

    runs = jobs.runs(db.make_engine(Settings().database_url))
    for job in jobs.JOBS.values():
        run = runs.get(job.name)
        schedule = " ".join(f"{field}={value}" for field, value in job.schedule.items())
        if run is None or run.last_started is None:
            last = "never run"
        else:
            state = "ok" if run.last_ok else ("running" if run.last_ok is None else "FAILED")
            last = f"{_time(run.last_started)} {state}: {run.last_result}"
        typer.echo(f"{job.name:<20} {schedule:<22} {job.description}\n{'':<20} last: {last}")


@jobs_app.command("run")
def run_command(name: Annotated[str, typer.Argument(help="The job's name, as `canteen jobs list` shows it.")]) -> None:
    """Run a job now; it waits for nothing: if another process is running it, say so and exit 1."""
    from canteen import db
    from canteen.config import Settings
    from canteen.jobs import service as jobs

    if name not in jobs.JOBS:
        raise typer.BadParameter(f"unknown job {name!r}; jobs: {', '.join(jobs.JOBS)}")
    result = jobs.run(db.make_engine(Settings().database_url), name)
    if result is None:
        typer.echo(f"{name} is running in another process; not started", err=True)
        raise typer.Exit(1)
    typer.echo(f"{name}: {result}")


def scheduler_command() -> None:
    """The scheduler in this process until SIGTERM or Ctrl-C (`canteen scheduler`, after its schema check)."""
    from canteen import logs
    from canteen.config import Settings
    from canteen.jobs import scheduler

    settings = Settings()
    logs.setup(settings.log_format)
    scheduler.run_until_stopped(settings.database_url, settings.timezone)
