"""`canteen calendar import|show|check`, through the real entry point's command group."""
import json

from typer.testing import CliRunner, Result

from canteen import cli
from tests.calendar.conftest import NOTICE_2027


def canteen(database_url: str, *args: str) -> Result:
    return CliRunner().invoke(cli.app, list(args), env={"CANTEEN_DATABASE_URL": database_url, "CANTEEN_LANGUAGE": "en"})


def test_check_says_whether_a_year_is_official(engine, database_url):
    known = canteen(database_url, "calendar", "check", "--year", "2026")
    assert known.exit_code == 0, known.stderr
    missing = canteen(database_url, "calendar", "check", "--year", "2027")
    assert missing.exit_code == 1 and missing.stdout == ""
    assert missing.stderr.splitlines() == [
        "2027 has no official holiday data; import the State Council's notice with `canteen calendar import FILE`"]


def test_import_then_show_and_check(engine, database_url, notice_file):
    imported = canteen(database_url, "calendar", "import", str(notice_file))
    assert imported.exit_code == 0, imported.stderr
    assert imported.stdout.strip() == "2027: 9 holidays and 2 adjusted workdays imported from 2027.csv"
    assert canteen(database_url, "calendar", "check", "--year", "2027").exit_code == 0
    shown = json.loads(canteen(database_url, "calendar", "show", "--year", "2027", "--json").stdout)
    assert (shown["year"], shown["holidays"], shown["workdays"]) == (2027, 9, 2)
    assert shown["days"][0] == {"day": "2027-01-01", "kind": "holiday", "name": "元旦"}
    assert {"day": "2027-01-09", "kind": "workday", "name": "元旦"} in shown["days"]
    table = canteen(database_url, "calendar", "show", "--year", "2027").stdout.splitlines()
    assert len(table) == 1 + 11 and table[1].split() == ["2027-01-01", "holiday", "元旦"]


def test_a_bad_row_is_one_error_line_and_nothing_is_stored(engine, database_url, tmp_path):
    bad = tmp_path / "2027.csv"
    lines = NOTICE_2027.splitlines()
    lines[5] = "2027-01-09,weekday,元旦"
    bad.write_text("\n".join(lines), encoding="utf-8")
    result = canteen(database_url, "calendar", "import", str(bad))
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.splitlines() == ["error: 2027.csv:6: kind must be holiday or workday, not 'weekday'"]
    assert canteen(database_url, "calendar", "check", "--year", "2027").exit_code == 1


def test_show_of_a_year_without_data_and_a_missing_file_are_user_mistakes(engine, database_url, tmp_path):
    shown = canteen(database_url, "calendar", "show", "--year", "2031")
    assert shown.exit_code == 2 and shown.stderr.startswith("error: year:") and "2031" in shown.stderr
    missing = canteen(database_url, "calendar", "import", str(tmp_path / "nope.csv"))
    assert missing.exit_code == 2 and len(missing.stderr.splitlines()) == 1
    assert missing.stderr.startswith("error: ")


def test_the_missing_year_is_said_in_chinese_to_chinese_users(engine, database_url):
    environment = {"CANTEEN_DATABASE_URL": database_url, "CANTEEN_LANGUAGE": "zh_CN"}
    result = CliRunner().invoke(cli.app, ["calendar", "check", "--year", "2027"], env=environment)
    assert result.exit_code == 1 and "2027" in result.stderr and "导入" in result.stderr
