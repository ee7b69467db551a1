"""`canteen forecast …`: judge the headcount forecast on a canteen's own past records.

The forecast (pandas, numpy) and the database are imported by the command, not by `canteen --help`.
"""
import json
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from canteen.cli_bounds import MAX_ID

if TYPE_CHECKING:
    from canteen.reservation.forecast.backtest import Backtest, Scores
    from canteen.reservation.forecast.history import BookingHistory

forecast_app = typer.Typer(no_args_is_help=True, help="Headcount forecast: backtests on past records.")

TITLES = {"forecast": "forecast", "last_week": "last week", "bookings": "bookings"}


def _fail(*lines: str) -> NoReturn:
    for line in lines:
        typer.echo(f"error: {line}", err=True)
    raise typer.Exit(2)


def _cutoff_time(text: str) -> time:
    try:
        return datetime.strptime(text, "%H:%M").time()
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a time like 16:00") from None


@forecast_app.command("backtest")
def backtest_command(
    history: Annotated[Path | None, typer.Option(help="CSV exported from the canteen's records: "
                                                      "date,meal,booked,served[,closed].")] = None,
    canteen: Annotated[int | None, typer.Option(min=1, max=MAX_ID, help="A canteen's id, to backtest on its "
                                                                        "booking records.")] = None,
    cutoff: Annotated[str, typer.Option(help="Time of day each forecast is made (HH:MM).")] = "16:00",
    days_before: Annotated[int, typer.Option(min=1, max=14, help="How many days before the meal the cut-off "
                                                                 "falls.")] = 1,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object instead of a table.")] = False,
) -> None:
    """Replay past days, forecasting each from what was known at its cut-off; compare with two baselines."""
    from canteen.calendar.service import library_calendar
    from canteen.reservation.forecast.backtest import backtest
    from canteen.reservation.forecast.history_csv import HistoryFileError, read_history

    try:
        at = _cutoff_time(cutoff)
    except typer.BadParameter as error:
        _fail(f"--cutoff: {error.message}")
    if (canteen is None) == (history is None):
        _fail("give either --history FILE.csv or --canteen ID")
    meal_ends = None
    if canteen is not None:
        # The canteen's own cut-off, meal windows and calendar, from the database (read only).
        records = _canteen_history(canteen)
        frame, at, days_before, meal_ends = records.frame, records.cutoff_time, records.days_before, records.meal_ends
        calendar = records.calendar
        if frame.empty:
            _fail(f"canteen {canteen} has no past bookings or check-ins to replay")
    else:
        assert history is not None  # exactly one of the two was given
        try:
            frame = read_history(history)
        except HistoryFileError as error:
            _fail(*(f"{history}: {problem}" for problem in error.problems))
        except OSError as error:
            _fail(f"{history}: {error.strerror or error}")
        # An operator's file needs no database: its days are read on chinesecalendar's years, and a year it does
        # not know is said to be guessed rather than passed over.
        calendar = library_calendar()
        first, last = (frame["date"].min().date(), frame["date"].max().date()) if len(frame) else (date.min, date.min)
        for year in calendar.guessed_years(first, last) if len(frame) else []:
            typer.echo(f"note: {year} has no official holiday data here; weekends are taken as the only rest days",
                       err=True)
    result = backtest(frame, at, days_before, meal_ends, calendar=calendar)
    typer.echo(json.dumps(_json(result, at, days_before)) if as_json else _table(result, at, days_before))


def _canteen_history(canteen_id: int) -> "BookingHistory":
    from sqlmodel import Session

    from canteen import db
    from canteen.access import SYSTEM
    from canteen.config import Settings
    from canteen.reservation.forecast.history import booking_history

    engine = db.make_engine(Settings().database_url)
    try:
        with Session(engine) as session:
            return booking_history(session, SYSTEM, canteen_id, datetime.now(UTC))
    finally:
        engine.dispose()


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def _scores_json(scores: "dict[str, Scores]") -> dict[str, dict[str, float | None]]:
    return {method: {"mape": score.mape, "wape": score.wape} for method, score in scores.items()}


def _json(result: "Backtest", at: time, days_before: int) -> dict:
    scored = result.predictions[result.predictions["scored"]]
    return {
        "cutoff": at.strftime("%H:%M"),
        "days_before": days_before,
        "rows": result.rows,
        "first_day": scored["date"].min().date().isoformat() if result.rows else None,
        "last_day": scored["date"].max().date().isoformat() if result.rows else None,
        "overall": _scores_json(result.overall),
        "per_meal": {meal: _scores_json(scores) for meal, scores in result.per_meal.items()},
        "better_baseline": result.better_baseline,
        "improvement": result.improvement,
        "interval_coverage": result.coverage,
    }


def _table(result: "Backtest", at: time, days_before: int) -> str:
    from canteen.reservation.forecast.backtest import METHODS

    when = f"{at:%H:%M} {'the day before' if days_before == 1 else f'{days_before} days before'}"
    if not result.rows:
        return (f"No meal could be scored: the history needs an open meal and the same meal a week earlier "
                f"(cut-off {when}).")
    scored = result.predictions[result.predictions["scored"]]
    lines = [f"Backtest of {scored['date'].min():%Y-%m-%d} to {scored['date'].max():%Y-%m-%d}: "
             f"{result.rows} meals scored, each forecast made at {when}.",
             "",
             f"{'':<10}" + "".join(f"{TITLES[method]:>18}" for method in METHODS),
             f"{'':<10}" + "".join(f"{'MAPE':>9}{'WAPE':>9}" for _ in METHODS)]
    for label, scores in (("all meals", result.overall), *result.per_meal.items()):
        lines.append(f"{label:<10}" + "".join(
            f"{_percent(scores[method].mape):>9}{_percent(scores[method].wape):>9}" for method in METHODS))
    lines.append("")
    if result.improvement is not None:
        change = "lower" if result.improvement >= 0 else "higher"
        baseline = result.better_baseline
        assert baseline is not None  # an improvement is measured against one
        lines.append(f"The forecast's WAPE is {abs(result.improvement):.0%} {change} than the better baseline "
                     f"({TITLES[baseline]}).")
    lines.append(f"The 80% interval held the actual headcount for {_percent(result.coverage)} of the meals.")
    return "\n".join(lines)
