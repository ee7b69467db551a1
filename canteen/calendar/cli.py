"""`canteen calendar …`: import a year's State Council holiday notice, show a year, check that a year is official."""
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from canteen.cli_session import command_session

# The calendar service and the database are imported by the commands, not by `canteen --help`.

calendar_app = typer.Typer(no_args_is_help=True, help="Official holidays and adjusted workdays (调休), year by year.")
Year = Annotated[int, typer.Option(min=1900, max=2200, help="Calendar year.")]


@calendar_app.command("import")
def import_command(file: Annotated[Path, typer.Argument(help="CSV with rows date,kind,name (kind: holiday or "
                                                              "workday), one year per file.")]) -> None:
    """Store a year's official holidays and adjusted workdays, replacing what the table held for that year."""
    from canteen.calendar import service
    from canteen.i18n import N_, gettext

    data = file.read_bytes()
    with command_session() as (session, language):
        year = service.import_year(session, data, file.name, datetime.now(UTC))
    typer.echo(gettext(N_("{year}: {holidays} holidays and {workdays} adjusted workdays imported from {file}"),
                       language).format(year=year.year, holidays=year.holidays, workdays=year.workdays,
                                        file=file.name))


@calendar_app.command("show")
def show_command(year: Year, as_json: Annotated[bool, typer.Option("--json", help="One JSON object.")] = False) -> None:
    """List a year's official days."""
    from canteen.calendar import service

    with command_session() as (session, _):
        record = service.year_read(session, year)
        days = service.year_days(session, year)
    if as_json:
        typer.echo(json.dumps({**record.model_dump(mode="json"), "days": [day.model_dump(mode="json") for day in days]},
                              ensure_ascii=False))
        return
    typer.echo(f"{year}  {record.source}  ({record.imported_at:%Y-%m-%d %H:%M} UTC)")
    for day in days:
        typer.echo(f"{day.day.isoformat()}  {day.kind.value:<8} {day.name}")


@calendar_app.command("check")
def check_command(year: Year) -> None:
    """Exit 0 when the year has official data, 1 (with one line saying so) when it has none."""
    from canteen.calendar import service
    from canteen.i18n import N_, gettext

    with command_session() as (session, language):
        official = year in service.load(session).years
    if not official:
        typer.echo(gettext(N_("{year} has no official holiday data; import the State Council's notice with "
                              "`canteen calendar import FILE`"), language).format(year=year), err=True)
        raise typer.Exit(1)
    typer.echo(gettext(N_("{year} has official holiday data"), language).format(year=year))
