"""The `canteen` command: serve the app, migrate the database, run a demo, add bureaus, canteens, stations, users.

Only typer and what the options need are imported up front, so that `canteen --help` (and `canteen gateway`)
start at once: the server, the database layer, the demo and the data libraries are imported inside the commands
that use them (tests/test_cli.py checks which modules `canteen --help` loads).
"""
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperGroup
from typer.exceptions import TyperException

from canteen.access import Role
from canteen.assessment.cli import assess_app
from canteen.calendar.cli import calendar_app
from canteen.cli_bounds import MAX_ID
from canteen.errors import CanteenError
from canteen.jobs.cli import jobs_app, scheduler_command
from canteen.org.kinds import BureauLevel, OperatingMode, Parity, ServingMode, StationKind
from canteen.points.cli import points_app
from canteen.reservation.forecast.cli import forecast_app
from canteen.scale_driver import protocols as scale_protocols
from canteen.scale_driver.cli import scale_app
from canteen.scale_driver.gateway_cli import gateway_app
from canteen.scale_driver.protocols import UnknownProtocol

if TYPE_CHECKING:
    from pydantic import BaseModel, ValidationError
    from sqlalchemy.exc import DBAPIError
    from sqlmodel import Session

    from canteen.config import Settings
    from canteen.db import SchemaState

APP_FACTORY = "canteen.app:create_app"
DEMO_APP_FACTORY = "canteen.app:create_demo_app"
DEMO_SCALES_DIR = Path("var") / "demo-scales"
DEMO_HISTORY_DAYS = 400  # canteen.demo.HISTORY_DAYS (tests/test_cli.py checks), without importing the demo for it
# SQLite says "no such table/column"; PostgreSQL reports undefined_table / undefined_column.
SCHEMA_MISSING = ("no such table", "no such column")
SCHEMA_MISSING_SQLSTATES = ("42P01", "42703")
NOT_A_DATABASE = "file is not a database"  # SQLite's words for a file of anything else


MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"  # canteen.metrics.MULTIPROC_ENV, set before prometheus_client is imported
DEBUG_ENV = "CANTEEN_DEBUG"  # set (to anything but 0 or empty), an unexpected error shows its traceback


def _is_user_mistake(error: Exception) -> bool:
    """CanteenError, OSError, OverflowError (a number too large for the database or the calendar), BadParameter,
    UnknownProtocol, csv.Error, pydantic's ValidationError, SQLAlchemy's DatabaseError (a database that cannot be
    used: not reachable, not a database, read-only, without the schema, a value out of its range).

    Pydantic's and SQLAlchemy's classes are looked up only where their modules are loaded already: an error of
    theirs cannot come from a module nobody imported, and `canteen --help` imports neither.
    """
    mistakes: list[type[Exception]] = [CanteenError, OSError, OverflowError, typer.BadParameter, UnknownProtocol]
    if (csv := sys.modules.get("csv")) is not None:  # a file handed in that csv cannot read (a line too long)
        mistakes.append(csv.Error)
    if (pydantic_core := sys.modules.get("pydantic_core")) is not None:
        mistakes.append(pydantic_core.ValidationError)
    if (sqlalchemy_exc := sys.modules.get("sqlalchemy.exc")) is not None:
        mistakes.append(sqlalchemy_exc.DatabaseError)
    return isinstance(error, tuple(mistakes))


class _CanteenCli(TyperGroup):
    """Turns user mistakes raised anywhere below into one `error:` line on stderr and exit code 2.

    Anything else is a bug: it is reported as one `error: internal error …` line naming a file that holds the
    traceback, with exit code 1 (CANTEEN_DEBUG=1 lets the traceback through instead). Typer's own exits and
    usage errors pass as they are.
    """

    def parse_args(self, ctx: typer.Context, args: list[str]) -> list[str]:  # type: ignore[override]
        # No terminal can pass a NUL byte; a program can, and SQLite and PostgreSQL disagree about storing one.
        if any("\0" in arg for arg in args):
            from canteen.i18n import N_

            message = _text(N_("arguments cannot contain NUL characters"))
            typer.echo(f"error: {message}", err=True)
            raise typer.Exit(2)
        return super().parse_args(ctx, args)

    # typer vendors click: the base method takes typer's private click Context, of which typer.Context is a subclass.
    def invoke(self, ctx: typer.Context) -> Any:  # type: ignore[override]
        _json_logs()
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort):
            raise
        except Exception as error:
            if _is_user_mistake(error):
                typer.echo(f"error: {' '.join(_describe(error).split())}", err=True)
                raise typer.Exit(2) from None
            if isinstance(error, TyperException) or os.environ.get(DEBUG_ENV, "0") not in ("", "0"):
                raise
            typer.echo(f"error: {_internal_error(error)}", err=True)
            raise typer.Exit(1) from None


def _json_logs() -> None:
    """With CANTEEN_LOG_FORMAT=json in the environment, what commands log (warnings and up, as in text) is one
    JSON object a line. Read from the environment, not from .env through the settings, so that commands that
    need no settings still start at once; `serve` and `scheduler` read the settings and set up their own."""
    if os.environ.get("CANTEEN_LOG_FORMAT", "").strip().lower() == "json":
        from canteen import logs

        logs.setup("json", level="WARNING")


def _internal_error(error: Exception) -> str:
    """One line for a bug, its traceback kept in a file of its own for the report."""
    import tempfile
    import traceback

    from canteen.i18n import N_

    with tempfile.NamedTemporaryFile("w", prefix="canteen-error-", suffix=".txt", delete=False,
                                     encoding="utf-8") as log:
        log.write("".join(traceback.format_exception(error)))
    summary = " ".join(f"{type(error).__name__}: {error}".split())[:300]
    return _text(N_("internal error ({summary}); the traceback is in {file}, please report it")).format(
        summary=summary, file=log.name)


def _text(message: str) -> str:
    from canteen.i18n import gettext

    return gettext(message, _language())


def _language() -> str:
    """The configured language, or the default where the settings themselves are the mistake being reported."""
    from canteen.config import LANGUAGES, Settings

    try:
        return Settings().language
    except Exception:  # whatever broke the settings is reported by the caller; the language must not fail too
        return LANGUAGES[0]


def _describe(error: Exception) -> str:
    from pydantic import ValidationError

    from canteen.i18n import N_, error_text, gettext

    language = _language()
    if isinstance(error, CanteenError):
        text = error_text(error, language)
        return f"{error.field}: {text}" if error.field else text
    if isinstance(error, ValidationError):
        return _validation_text(error)
    sqlalchemy_exc = sys.modules.get("sqlalchemy.exc")
    if sqlalchemy_exc is not None and isinstance(error, sqlalchemy_exc.DBAPIError):
        if _schema_missing(error):
            return "database: " + gettext(N_("the database has no canteen tables yet; run `canteen db upgrade`"),
                                          language)
        if NOT_A_DATABASE in str(error.orig):
            return "database: " + gettext(N_("the file is not an SQLite database"), language)
        return "database: " + gettext(N_("cannot use the database: {reason}"), language).format(reason=error.orig)
    if isinstance(error, typer.BadParameter):
        return error.format_message().replace("Value error, ", "")
    if (csv := sys.modules.get("csv")) is not None and isinstance(error, csv.Error):
        return gettext(N_("the file cannot be read as CSV: {reason}"), language).format(reason=error)
    if isinstance(error, OverflowError):
        return gettext(N_("a number is out of range: {reason}"), language).format(reason=error)
    return str(error)


def _validation_text(error: "ValidationError") -> str:
    from canteen.config import Settings

    from_settings = error.title == Settings.__name__
    parts = []
    for item in error.errors():
        field = ".".join(map(str, item["loc"]))
        if from_settings:
            field = Settings.model_config["env_prefix"] + field.upper()
        parts.append(f"{field}: {item['msg'].removeprefix('Value error, ')}")
    return "; ".join(parts)


def _schema_missing(error: "DBAPIError") -> bool:
    return (any(marker in str(error.orig) for marker in SCHEMA_MISSING)
            or getattr(error.orig, "sqlstate", None) in SCHEMA_MISSING_SQLSTATES)


@contextmanager
def _session(settings: "Settings") -> Iterator["Session"]:
    from canteen import db

    engine = db.make_engine(settings.database_url)
    try:
        with db.session_scope(engine) as session:
            yield session
    finally:
        engine.dispose()


def _say(settings: "Settings", message: str, **params: object) -> None:
    from canteen.i18n import gettext

    typer.echo(gettext(message, settings.language).format(**params))


def _created(settings: "Settings", record: "BaseModel", as_json: bool, message: str, **params: object) -> None:
    if as_json:
        typer.echo(record.model_dump_json())
    else:
        _say(settings, message, **params)


GRACEFUL_STOP_S = 10  # within the server unit's TimeoutStopSec (deploy/canteen-server.service)


def _serve(host: str, port: int, workers: int, factory: str = APP_FACTORY, log_format: str = "text") -> None:
    """uvicorn with our log config; several workers count their metrics in a directory of files that a scrape
    sums (canteen/metrics.py), fresh for this start and removed after it, unless PROMETHEUS_MULTIPROC_DIR names
    one already (shared with the scheduler process, and emptied by whoever set it). On stopping, requests still
    running after GRACEFUL_STOP_S are cut: the kitchen terminals' live feeds would otherwise hold it open."""
    import shutil
    import tempfile

    import uvicorn

    from canteen import logs

    metrics_dir = None
    if workers > 1 and not os.environ.get(MULTIPROC_ENV):
        metrics_dir = tempfile.mkdtemp(prefix="canteen-metrics-")
        os.environ[MULTIPROC_ENV] = metrics_dir
    try:
        uvicorn.run(factory, factory=True, host=host, port=port, workers=workers,
                    log_config=logs.uvicorn_config(log_format), timeout_graceful_shutdown=GRACEFUL_STOP_S)
    finally:
        if metrics_dir is not None:
            os.environ.pop(MULTIPROC_ENV, None)
            shutil.rmtree(metrics_dir, ignore_errors=True)


app = typer.Typer(cls=_CanteenCli, pretty_exceptions_enable=False, no_args_is_help=True,
                  help="Anti-food-waste system for public canteens.")
db_app = typer.Typer(no_args_is_help=True, help="Database schema.")
org_app = typer.Typer(no_args_is_help=True, help="Bureaus and canteens.")
station_app = typer.Typer(no_args_is_help=True, help="Weighing stations (scales).")
user_app = typer.Typer(no_args_is_help=True, help="User accounts.")
app.add_typer(db_app, name="db")
app.add_typer(org_app, name="org")
app.add_typer(station_app, name="station")
app.add_typer(user_app, name="user")
app.add_typer(scale_app, name="scale")
app.add_typer(gateway_app, name="gateway")
app.add_typer(forecast_app, name="forecast")
app.add_typer(assess_app, name="assess")
app.add_typer(jobs_app, name="jobs")
app.add_typer(calendar_app, name="calendar")
app.add_typer(points_app, name="points")

Host = Annotated[str, typer.Option(help="Address to listen on.")]
Port = Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")]
Json = Annotated[bool, typer.Option("--json", help="Print the new record as one JSON object.")]


@app.command()
def serve(host: Host = "127.0.0.1", port: Port = 8000,
          workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1) -> None:
    """Run the web server (it needs CANTEEN_SECRET_KEY: the default only serves `canteen demo`)."""
    from canteen.config import Settings, require_secret_key

    settings = Settings()
    require_secret_key(settings)
    _require_current_schema(settings.database_url)
    _serve(host, port, workers, log_format=settings.log_format)


@app.command("scheduler")
def scheduler() -> None:
    """Run the background jobs on their schedules in this process until SIGTERM or Ctrl-C (set
    CANTEEN_SCHEDULER=false for the server workers then); each scheduled run happens once however many run."""
    from canteen.config import Settings

    _require_current_schema(Settings().database_url)
    scheduler_command()


def _require_current_schema(database_url: str) -> None:
    """Refuse to start on a database whose schema is not this code's: it would answer nothing but errors."""
    from canteen import db

    engine = db.make_engine(database_url)
    try:
        schema = db.schema_state(engine)
    finally:
        engine.dispose()
    if not schema.ok:
        raise _schema_refusal(schema)


def _schema_refusal(schema: "SchemaState") -> CanteenError:
    """Why `serve` or `scheduler` will not start on this schema."""
    from canteen.errors import Conflict
    from canteen.i18n import N_

    if schema.current is None:
        return Conflict(N_("the database has no canteen tables yet; run `canteen db upgrade`"), field="database")
    if schema.state == "behind":
        return Conflict(N_("the database schema is at revision {current}, behind this version's {head}; run "
                           "`canteen db upgrade`"), field="database", current=schema.current, head=schema.head)
    return Conflict(N_("the database schema is at revision {current}, which this version does not know (its "
                       "newest is {head}): a newer canteen migrated it, or it is another application's "
                       "database"), field="database", current=schema.current, head=schema.head)


@app.command("demo")
def run_demo(host: Host = "127.0.0.1", port: Port = 8000,
             scales: Annotated[bool, typer.Option(help="Run a simulated scale and a gateway per plate-return "
                                                       "station during meal windows.")] = True,
             speed: Annotated[float, typer.Option(min=0.1, max=100, help="Simulated diners come this many times "
                                                                         "faster (10: a meal in minutes).")] = 1.0,
             history_days: Annotated[int, typer.Option(min=0, max=800, help="Days of weighing history to "
                                                                            "generate.")] = DEMO_HISTORY_DAYS,
             force: Annotated[bool, typer.Option("--force", help="Add the demo to a database that holds other "
                                                                 "bureaus or accounts (it writes accounts whose "
                                                                 "passwords it prints).")] = False,
             ) -> None:
    """Migrate the database, add demo bureaus, canteens, accounts and weighing history, and serve.

    It refuses a database that holds bureaus, canteens, stations or accounts of its own (unless --force); its
    own demo database from an earlier run is reused as it is.
    """
    from canteen import db, demo
    from canteen.config import Settings
    from canteen.demo import live as demo_live
    from canteen.demo.progress import Progress
    from canteen.errors import Conflict
    from canteen.i18n import N_

    settings = Settings()
    engine = db.make_engine(settings.database_url)
    try:
        if not force and demo.holds_other_data(engine):
            raise Conflict("{url} holds bureaus or accounts that the demo did not create, and the demo adds "
                           "accounts whose passwords it prints; point CANTEEN_DATABASE_URL at an empty database, "
                           "or add --force", field="database", url=engine.url.render_as_string(hide_password=True))
        db.upgrade(engine)
        # A bar per phase while it seeds, on a terminal (piped to a log, the bars would only be noise).
        progress = Progress(sys.stderr if sys.stderr.isatty() else None, settings.language)
        with db.session_scope(engine) as session:
            data = demo.seed(session, datetime.now(UTC), history_days, progress)
            stations = demo_live.prepare(session) if scales else []
    finally:
        engine.dispose()
    _say(settings, N_("Demo data created.") if data.created else N_("Demo data already present; nothing added."))
    if data.created:
        typer.echo(progress.summary())
    if not data.bulletin_pdf:
        _say(settings, N_("Chromium not found: the demo bulletin is published without its PDF; run `make "
                          "system-deps` (as root or through sudo) to install it for bulletins published later."))
    _say(settings, N_("Open {url} and sign in as one of these demo accounts (local demos only):"),
         url=f"http://{host}:{port}")
    name_width = max(len(login.username) for login in data.logins)
    password_width = max(len(login.password) for login in data.logins)
    for login in data.logins:
        typer.echo(f"  {login.username:<{name_width}}  {login.password:<{password_width}}  {login.role.value:<8}  "
                   f"{login.description(settings.language)}")
    fleet = demo_live.Fleet(stations, f"http://127.0.0.1:{port}", DEMO_SCALES_DIR.resolve(), speed)
    if stations:
        _say(settings,
             N_("{count} simulated scales weigh plates and kitchen waste during meal windows (logs in {folder})."),
             count=len(stations), folder=DEMO_SCALES_DIR)
        fleet.start()
    with demo_live.stopping(fleet):  # the scales stop, and are waited for, however the server ends
        _serve(host, port, 1, DEMO_APP_FACTORY, settings.log_format)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply all database migrations."""
    from canteen import db
    from canteen.calendar import service as calendar_service
    from canteen.config import Settings
    from canteen.i18n import N_

    settings = Settings()
    engine = db.make_engine(settings.database_url)
    try:
        db.upgrade(engine)
        with db.session_scope(engine) as session:
            # A newer chinesecalendar may know a year the table lacks; imported years stay as they are.
            calendar_service.seed_from_library(session, datetime.now(UTC))
    finally:
        engine.dispose()
    _say(settings, N_("The database schema is up to date."))


@db_app.command("backup")
def db_backup(file: Annotated[Path, typer.Argument(help="Where to write the backup (replaced if it exists).")],
              ) -> None:
    """Back up the whole database to FILE (SQLite: a copy of the database file; PostgreSQL: pg_dump's custom
    format), while the server keeps running."""
    from canteen import backup
    from canteen.config import Settings
    from canteen.i18n import N_

    settings = Settings()
    backup.backup(settings.database_url, file)
    _say(settings, N_("Backed up the database to {file}."), file=file)


@db_app.command("archive")
def db_archive(before: Annotated[str, typer.Option(help="The first month kept, such as 2024-01; every whole month "
                                                       "before it is archived.")],
               to: Annotated[Path, typer.Option(help="Folder for the archive files.")] = Path("archive"),
               ) -> None:
    """Export the plate weighings of every month before --before to compressed CSV files with sha256 checksums,
    check them, then drop those months from the database (their rollups and scorecards stay)."""
    from canteen import db
    from canteen.config import Settings
    from canteen.i18n import N_
    from canteen.weighing import archive

    settings = Settings()
    month = archive.parse_month(before)
    engine = db.make_engine(settings.database_url)
    try:
        results = archive.archive(engine, month, to, datetime.now(UTC))
    finally:
        engine.dispose()
    for result in results:
        if result.skipped:
            _say(settings, N_("{month}: archived already, skipped."), month=f"{result.month:%Y-%m}")
        else:
            _say(settings, N_("{month}: {plates} plates archived to {file}."), month=f"{result.month:%Y-%m}",
                 plates=result.plates, file=to / result.file)
    if not results:
        _say(settings, N_("No plate weighings before {month} to archive."), month=f"{month:%Y-%m}")


@db_app.command("restore")
def db_restore(file: Annotated[Path, typer.Argument(help="A backup written by `canteen db backup`.")],
               force: Annotated[bool, typer.Option("--force", help="Restore into a database that has tables "
                                                                   "already, replacing its contents.")] = False,
               ) -> None:
    """Restore a backup into an empty database (stop the server first)."""
    from canteen import backup
    from canteen.config import Settings
    from canteen.i18n import N_

    settings = Settings()
    backup.restore(settings.database_url, file, force)
    _say(settings, N_("Restored the database from {file}."), file=file)


@org_app.command("add-bureau")
def add_bureau(name: Annotated[str, typer.Option(help="Unique bureau name.")],
               parent: Annotated[int | None, typer.Option(min=1, max=MAX_ID, help="Parent bureau id.")] = None,
               level: Annotated[BureauLevel | None, typer.Option(help="Default: one below the parent.")] = None,
               as_json: Json = False) -> None:
    """Add a supervising bureau."""
    from canteen.access import SYSTEM
    from canteen.config import Settings
    from canteen.i18n import N_
    from canteen.org import service as org_service
    from canteen.org.models import BureauCreate, BureauRead

    settings = Settings()
    data = BureauCreate(name=name, parent_id=parent, level=level)
    with _session(settings) as session:
        bureau = BureauRead.model_validate(org_service.create_bureau(session, SYSTEM, data))
    _created(settings, bureau, as_json, N_("Created {level} bureau {id}: {name}"),
             level=bureau.level.value, id=bureau.id, name=bureau.name)


@org_app.command("add-canteen")
def add_canteen(bureau: Annotated[int, typer.Option(min=1, max=MAX_ID, help="Supervising bureau id.")],
                name: Annotated[str, typer.Option(help="Canteen name, unique within the bureau.")],
                serving_mode: ServingMode = ServingMode.buffet,
                operating_mode: OperatingMode = OperatingMode.self_run,
                timezone: Annotated[str | None, typer.Option(help="Default: CANTEEN_TIMEZONE.")] = None,
                seats: int | None = None,
                as_json: Json = False) -> None:
    """Add a canteen under a bureau."""
    from canteen.access import SYSTEM
    from canteen.config import Settings
    from canteen.i18n import N_
    from canteen.org import service as org_service
    from canteen.org.models import CanteenCreate

    settings = Settings()
    data = CanteenCreate(bureau_id=bureau, name=name, serving_mode=serving_mode, operating_mode=operating_mode,
                         timezone=timezone, seats=seats)
    with _session(settings) as session:
        canteen = org_service.canteen_read(
            session, org_service.create_canteen(session, SYSTEM, data, settings.timezone))
    _created(settings, canteen, as_json, N_("Created canteen {id}: {name} (bureau {bureau})"),
             id=canteen.id, name=canteen.name, bureau=canteen.bureau_id)


@station_app.command("add")
def add_station(canteen: Annotated[int, typer.Option(min=1, max=MAX_ID, help="Canteen id.")],
                name: Annotated[str, typer.Option(help="Station name, unique within the canteen.")],
                kind: StationKind = StationKind.plate_return,
                protocol: Annotated[str | None, typer.Option(
                    help=f"One of {', '.join(scale_protocols.names())}.")] = None,
                baudrate: int | None = None,
                parity: Parity | None = None,
                bytesize: int | None = None,
                stopbits: float | None = None,
                capacity_g: int | None = None,
                as_json: Json = False) -> None:
    """Add a weighing station and print its key (shown only once)."""
    from canteen.access import SYSTEM
    from canteen.config import Settings
    from canteen.i18n import N_
    from canteen.org import service as org_service
    from canteen.org.models import StationCreate, StationWithKey

    settings = Settings()
    serial = {"protocol": protocol, "baudrate": baudrate, "parity": parity, "bytesize": bytesize,
              "stopbits": stopbits, "capacity_g": capacity_g}
    data = StationCreate(canteen_id=canteen, name=name, kind=kind,
                         **{field: value for field, value in serial.items() if value is not None})
    with _session(settings) as session:
        station, key = org_service.create_station(session, SYSTEM, data)
        created = StationWithKey(**station.model_dump(), key=key)
    if as_json:
        typer.echo(created.model_dump_json())
        return
    _say(settings, N_("Created station {id}: {name} (canteen {canteen}, {kind}, {protocol})"), id=created.id,
         name=created.name, canteen=created.canteen_id, kind=created.kind.value, protocol=created.protocol)
    _say(settings, N_("Station key: {key}"), key=key)
    _say(settings, N_("Put this key in the station's gateway now: it is not shown again."))


@user_app.command("add")
def add_user(username: Annotated[str, typer.Option(help="Sign-in name.")],
             role: Annotated[Role, typer.Option(help="What the account may do.")],
             password: Annotated[str | None, typer.Option(
                 help="Default: asked for (hidden), or one line read from standard input.")] = None,
             display_name: str | None = None,
             bureau: Annotated[int | None, typer.Option(min=1, max=MAX_ID, help="Bureau id (bureau users).")] = None,
             canteen: Annotated[list[int] | None, typer.Option(
                 min=1, max=MAX_ID, help="Canteen id (operators: repeat for several; diners: their own).")] = None,
             as_json: Json = False) -> None:
    """Add a user account."""
    from canteen.access import SYSTEM
    from canteen.auth import service as auth_service
    from canteen.auth.models import UserCreate
    from canteen.config import Settings
    from canteen.i18n import N_

    settings = Settings()
    if password is None:
        password = _read_password(settings)
    data = UserCreate(username=username, display_name=display_name, password=password, role=role,
                      bureau_id=bureau, canteen_ids=canteen or [])
    with _session(settings) as session:
        user = auth_service.user_read(session, auth_service.create_user(session, SYSTEM, data, datetime.now(UTC)))
    _created(settings, user, as_json, N_("Created {role} user {id}: {username}"),
             role=user.role.value, id=user.id, username=user.username)


def _read_password(settings: "Settings") -> str:
    from canteen.i18n import N_, gettext

    if sys.stdin.isatty():
        return typer.prompt(gettext(N_("Password"), settings.language), hide_input=True, confirmation_prompt=True)
    return sys.stdin.readline().rstrip("\r\n")


def main() -> None:
    app(prog_name="canteen")


if __name__ == "__main__":
    main()
