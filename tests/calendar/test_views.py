"""The administrator's calendar page, and the banner while a coming day lies in a year without official data."""
from datetime import UTC, datetime

import pytest

from canteen.calendar import service
from tests.calendar.conftest import NOTICE_2027

BANNER = "The 2027 holiday schedule has not been imported yet"


@pytest.fixture
def english(client):
    client.cookies.set("canteen_lang", "en")
    return client


def upload(client, csrf, text: str, name: str = "2027.csv"):
    return client.post("/admin/calendar", data={"csrf_token": csrf()}, files={"file": (name, text.encode(), "text/csv")},
                       follow_redirects=False)


def test_admin_uploads_lists_and_deletes_a_year(english, sign_in, csrf, session):
    sign_in("admin")
    page = english.get("/admin/calendar")
    assert page.status_code == 200 and 'data-year="2026"' in page.text and 'data-year="2027"' not in page.text
    answer = upload(english, csrf, NOTICE_2027)
    assert answer.status_code == 303 and answer.headers["location"] == "/admin/calendar?year=2027&done=imported"
    listed = english.get("/admin/calendar?year=2027").text
    assert 'data-year="2027"' in listed and "2027-01-09" in listed and "元旦" in listed
    deleted = english.post("/admin/calendar/2027/delete", data={"csrf_token": csrf()}, follow_redirects=False)
    assert deleted.status_code == 303
    session.expire_all()
    assert 2027 not in service.load(session).years


def test_a_bad_file_is_shown_in_place_and_nothing_is_stored(english, sign_in, csrf, session):
    sign_in("admin")
    answer = upload(english, csrf, "2027-01-01,holiday,元旦\n2027-02-30,holiday,春节\n")
    assert answer.status_code == 422
    assert "2027.csv, line 2: &#39;2027-02-30&#39; is not a date" in answer.text
    assert 2027 not in service.load(session).years


@pytest.mark.parametrize("username", ["operator_a", "bureau_c1", "diner_a"])
def test_only_administrators_use_the_calendar_page(english, sign_in, username):
    sign_in(username)
    assert english.get("/admin/calendar").status_code == 403


@pytest.mark.parametrize(("username", "shown"), [("admin", True), ("bureau_c1", True), ("operator_a", True),
                                                 ("diner_a", False)])
def test_the_banner_shows_while_the_next_30_days_reach_an_unimported_year(english, sign_in, clock, username, shown):
    clock.now = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)  # 30 days ahead is 31 December: nothing yet
    sign_in(username)
    assert BANNER not in english.get("/").text
    clock.now = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)
    sign_in(username)
    assert (BANNER in english.get("/").text) is shown


def test_the_banner_goes_once_the_year_is_imported(english, sign_in, clock, session):
    clock.now = datetime(2026, 12, 15, 2, 0, tzinfo=UTC)
    sign_in("operator_a")
    assert BANNER in english.get("/").text
    service.import_year(session, NOTICE_2027.encode(), "2027.csv", clock.now)
    session.commit()
    assert BANNER not in english.get("/").text


GUESS = "The 2027 holiday schedule has not been imported yet: working days are guessed"


def test_guesses_are_labelled_on_the_booking_forecast_and_sampling_pages(english, sign_in, clock, org, session):
    clock.now = datetime(2026, 12, 28, 2, 0, tzinfo=UTC)
    canteen = org.canteens["a"]
    sign_in("diner_a")
    assert GUESS in english.get("/bookings?day=2027-01-04").text
    sign_in("operator_a")
    assert GUESS in english.get(f"/canteens/{canteen}/bookings?date=2027-01-04&meal=lunch").text
    sign_in("bureau_c1")
    assert GUESS in english.get("/assessment/sampling?year=2027").text
    assert GUESS not in english.get("/assessment/sampling?year=2026").text
    service.import_year(session, NOTICE_2027.encode(), "2027.csv", clock.now)
    session.commit()
    assert GUESS not in english.get("/assessment/sampling?year=2027").text
    sign_in("diner_a")
    assert GUESS not in english.get("/bookings?day=2027-01-04").text
