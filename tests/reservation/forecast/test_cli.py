"""`canteen forecast backtest` on an operator's CSV, through a command group like the real entry point."""
import json
from datetime import date
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner, Result

from canteen.reservation.forecast.cli import forecast_app
from hardware_sim.bookings import simulate
from tests.support.calendars import seeded_kind

root = typer.Typer()


@root.callback()
def _root() -> None:
    """Stands in for the `canteen` command."""


root.add_typer(forecast_app, name="forecast")


def forecast(*args: str) -> Result:
    return CliRunner().invoke(root, ["forecast", *args])


def assert_errors(result: Result, *expected: str) -> None:
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == len(expected), result.stderr
    for line, text in zip(lines, expected):
        assert line.startswith("error: ") and text in line, line


@pytest.fixture(scope="module")
def history_csv(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("history") / "history.csv"
    lines = ["date,meal,booked,served,closed"]
    lines += [f"{row.day},{row.meal},{row.booked},{row.served},{int(row.closed)}"
              for row in simulate(seed=1, start=date(2025, 1, 1), days=120, day_kind=seeded_kind)]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_table_shows_forecast_and_baselines_overall_and_per_meal(history_csv) -> None:
    result = forecast("backtest", "--history", str(history_csv))
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("Backtest of 2025-01-09 to ") and "16:00 the day before" in lines[0]
    assert "forecast" in lines[2] and "last week" in lines[2] and "bookings" in lines[2]
    assert lines[3].split() == ["MAPE", "WAPE"] * 3
    assert [line.split()[0] for line in lines[4:8]] == ["all", "breakfast", "lunch", "dinner"]
    assert "lower than the better baseline (bookings)" in result.stdout
    assert "80% interval held the actual headcount" in result.stdout


def test_json_is_one_object(history_csv) -> None:
    result = forecast("backtest", "--history", str(history_csv), "--json", "--cutoff", "10:30")
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["cutoff"] == "10:30" and report["days_before"] == 1 and report["rows"] > 150
    assert set(report["overall"]) == {"forecast", "last_week", "bookings"}
    assert list(report["per_meal"]) == ["breakfast", "lunch", "dinner"]
    assert report["overall"]["forecast"]["wape"] < report["overall"]["bookings"]["wape"]
    assert report["better_baseline"] == "bookings" and report["improvement"] > 0.3
    assert 0 < report["interval_coverage"] <= 1


def test_too_short_a_history_says_so(tmp_path) -> None:
    path = tmp_path / "short.csv"
    path.write_text("date,meal,booked,served\n2025-03-03,lunch,100,90\n2025-03-04,lunch,100,95\n")
    result = forecast("backtest", "--history", str(path))
    assert result.exit_code == 0 and result.stdout.startswith("No meal could be scored")
    assert json.loads(forecast("backtest", "--history", str(path), "--json").stdout)["improvement"] is None


def test_malformed_rows_one_error_line_each(tmp_path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("date,meal,booked,served\n2025-03-03,lunch,100,90\n2025-13-01,lunch,1,1\n2025-03-05,tea,1,1\n")
    assert_errors(forecast("backtest", "--history", str(path)),
                  f"{path}: line 3: date '2025-13-01'", f"{path}: line 4: meal 'tea'")


def test_missing_file_empty_file_and_missing_columns(tmp_path) -> None:
    missing = tmp_path / "nope.csv"
    assert_errors(forecast("backtest", "--history", str(missing)), f"{missing}: No such file or directory")
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    assert_errors(forecast("backtest", "--history", str(empty)), "the file is empty")
    columns = tmp_path / "columns.csv"
    columns.write_text("date,meal\n2025-03-03,lunch\n")
    assert_errors(forecast("backtest", "--history", str(columns)), "line 1: missing columns booked, served")


def test_option_mistakes(history_csv) -> None:
    assert_errors(forecast("backtest"), "give either --history FILE.csv or --canteen ID")
    assert_errors(forecast("backtest", "--history", str(history_csv), "--canteen", "1"),
                  "give either --history FILE.csv or --canteen ID")
    assert_errors(forecast("backtest", "--history", str(history_csv), "--cutoff", "4pm"),
                  "--cutoff: '4pm' is not a time like 16:00")
