"""The official calendar as data: seeded years, a year's import, guesses outside the data, deletion."""
from datetime import UTC, date, datetime

import chinese_calendar
import pytest

from canteen.calendar import service
from canteen.calendar.models import OfficialKind
from canteen.errors import InvalidInput, NotFound
from tests.calendar.conftest import HOLIDAYS_2027, NOTICE_2027, WORKED_SATURDAYS_2027

NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)


def test_the_migration_seeds_every_year_chinesecalendar_knows(session):
    calendar = service.load(session)
    assert min(calendar.years) == 2004 and max(calendar.years) == 2026 and 2027 not in calendar.years
    national_day = calendar.day(date(2026, 10, 1))
    assert (national_day.working, national_day.holiday, national_day.official) == (False, "国庆节", True)
    worked = calendar.day(date(2026, 9, 20))  # a Sunday worked before National Day 2026
    assert worked.working and worked.adjusted and worked.holiday is None
    # The seed agrees with the library on every day of its years.
    day = date(2004, 1, 1)
    while day <= date(2026, 12, 31):
        assert calendar.is_working_day(day) == chinese_calendar.is_workday(day), day
        day = day.fromordinal(day.toordinal() + 1)


def test_a_year_without_data_is_a_guess_of_weekends(session):
    calendar = service.load(session)
    new_year = calendar.day(date(2027, 1, 1))  # a Friday
    assert (new_year.working, new_year.holiday, new_year.official) == (True, None, False)
    assert not calendar.day(date(2027, 1, 2)).working and not calendar.day(date(2027, 1, 2)).official
    assert calendar.guessed_ahead(date(2026, 12, 2)) == [2027]  # 30 days from 2 December reach 1 January
    assert calendar.guessed_ahead(date(2026, 12, 1)) == []  # and from 1 December end on 31 December


def test_an_imported_year_is_official_and_followed(session):
    record = service.import_year(session, NOTICE_2027.encode(), "2027.csv", NOW)
    session.commit()
    assert (record.year, record.holidays, record.workdays, record.source) == (2027, 9, 2, "import 2027.csv")
    calendar = service.load(session)
    assert 2027 in calendar.years and calendar.guessed_ahead(date(2026, 12, 15)) == []
    for day in HOLIDAYS_2027:
        assert calendar.day(day).holiday in ("元旦", "劳动节") and not calendar.is_working_day(day)
    for day in WORKED_SATURDAYS_2027:
        assert calendar.is_working_day(day) and calendar.day(day).adjusted
    assert calendar.is_working_day(date(2027, 1, 5)) and not calendar.is_working_day(date(2027, 1, 10))
    assert [day.day for day in service.year_days(session, 2027)] == sorted(HOLIDAYS_2027 + WORKED_SATURDAYS_2027)


def test_importing_a_year_again_replaces_it(session):
    service.import_year(session, NOTICE_2027.encode(), "2027.csv", NOW)
    service.import_year(session, b"2027-10-01,holiday,\xe5\x9b\xbd\xe5\xba\x86\xe8\x8a\x82\n", "fix.csv", NOW)
    session.commit()
    calendar = service.load(session)
    assert calendar.is_working_day(date(2027, 1, 4)) and not calendar.is_working_day(date(2027, 10, 1))
    assert [(day.day, day.kind, day.name) for day in service.year_days(session, 2027)] == [
        (date(2027, 10, 1), OfficialKind.holiday, "国庆节")]


@pytest.mark.parametrize(("text", "line", "reason"), [
    ("2027-01-01,holiday,元旦\n2027-13-01,holiday,元旦\n", 2, "is not a date"),
    ("2027-01-01,holiday,元旦\n2027-01-02,vacation,元旦\n", 2, "kind must be holiday or workday"),
    ("2027-01-01,holiday\n", 1, "expected 3 columns"),
    ("2027-01-01,holiday,元旦\n2027-01-01,holiday,元旦\n", 2, "already on line 1"),
    ("2027-01-01,holiday,元旦\n2028-01-01,holiday,元旦\n", 2, "one file holds one year"),
    ("2027-01-01,holiday,元旦\n2027-01-05,workday,元旦\n", 2, "is a weekday"),  # a Tuesday cannot be 调休
    ("2027-01-01,holiday,\n", 1, "the name is empty"),
    ("date,kind,name\n2027-01-09,workday,元旦\n", 2, "no holiday"),
    ("9999-01-01,holiday,元旦\n", 1, "lies outside the years 2000 to 2100"),
    ("0001-01-01,holiday,元旦\n", 1, "lies outside the years 2000 to 2100"),
])
def test_a_bad_row_is_refused_with_file_line_and_reason_and_nothing_is_stored(session, text, line, reason):
    with pytest.raises(InvalidInput) as refused:
        service.import_year(session, text.encode(), "2027.csv", NOW)
    assert refused.value.field == f"2027.csv:{line}"
    assert reason in refused.value.reason.format(**refused.value.params)
    session.rollback()
    assert 2027 not in service.load(session).years


def test_a_file_that_is_not_utf8_is_refused(session):
    with pytest.raises(InvalidInput) as refused:
        service.import_year(session, "2027-01-01,holiday,元旦".encode("gbk"), "gbk.csv", NOW)
    assert refused.value.field == "gbk.csv:1"


def test_a_deleted_year_becomes_a_guess_and_an_unknown_year_is_not_found(session):
    service.delete_year(session, 2026)
    session.commit()
    calendar = service.load(session)
    assert 2026 not in calendar.years and calendar.is_working_day(date(2026, 10, 1))  # a Thursday, guessed
    with pytest.raises(NotFound):
        service.delete_year(session, 2031)
    assert service.seed_from_library(session, NOW) == [2026]
    session.commit()
    assert not service.load(session).is_working_day(date(2026, 10, 1))
