"""The administrator's long lists (accounts, canteens, stations, bureaus): searched, filtered and paged in SQL."""
import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import event
from sqlmodel import Session

from canteen.access import SYSTEM, Role
from canteen.admin import service
from canteen.auth import service as auth_service
from canteen.auth.models import User
from canteen.errors import Forbidden
from canteen.org import service as org_service
from canteen.org.models import Canteen, CanteenCreate, Station, StationCreate, StationKind

DINERS = 120  # with the fixture's 6 accounts: 126, three pages of 50


@pytest.fixture
def admin(client, sign_in):
    client.cookies.set("canteen_lang", "en")
    return sign_in("admin")


@pytest.fixture
def many_diners(org, session: Session, clock) -> None:
    """120 diners of canteen A, diner_001 … diner_120, created after the fixture's accounts."""
    for number in range(1, DINERS + 1):
        session.add(User(username=f"diner_{number:03d}", display_name=f"就餐人员{number:03d}", password_hash="x",
                         role=Role.diner, canteen_id=org.canteens["a"], created_at=clock()))
    session.add(User(username="wxm", display_name="王小明", password_hash="x", role=Role.diner,
                     canteen_id=org.canteens["b"], created_at=clock()))
    session.commit()


def user_rows(page: str) -> list[str]:
    """The user names in the accounts table, in order."""
    return re.findall(r"<tr>\s*<td>([^<]+)</td>", page.split('<table class="users">')[1].split("</table>")[0])


def total_line(page: str) -> str:
    return re.search(r'<span class="total"[^>]*>([^<]*)</span>', page).group(1)


def test_accounts_come_fifty_to_a_page_with_the_total_and_page_links(admin, org, many_diners):
    first = admin.get("/admin/users")
    assert first.status_code == 200
    # 6 fixture accounts, 120 diners and 王小明: 127 accounts, pages of 50: 50, 50, 27.
    assert total_line(first.text) == "127 found, page 1 of 3"
    rows = user_rows(first.text)
    assert len(rows) == 50
    assert rows[:7] == ["admin", "bureau_c1", "bureau_k2", "operator_a", "operator_b", "diner_a", "diner_001"]
    assert rows[-1] == "diner_044"
    assert 'href="/admin/users?page=2"' in first.text and 'href="/admin/users?page=3"' in first.text

    last = admin.get("/admin/users?page=3")
    rows = user_rows(last.text)
    assert len(rows) == 27 and rows[0] == "diner_095" and rows[-1] == "wxm"
    assert total_line(last.text) == "127 found, page 3 of 3"
    assert 'rel="next"' not in last.text and 'href="/admin/users?page=2" rel="prev"' in last.text
    # A page past the end shows the last one rather than an empty list.
    assert user_rows(admin.get("/admin/users?page=99").text) == rows


@pytest.mark.parametrize(("query", "expected"), [
    ("q=diner_11", [f"diner_{n}" for n in range(110, 120)]),
    ("q=DINER_12", ["diner_120"]),  # case does not matter
    ("q=小明", ["wxm"]),  # display names are searched too
    ("q=%25", []),  # a literal %, not a wildcard
    ("q=n_r", []),  # a literal _, not "any character" (which would match every "diner")
    ("role=operator", ["operator_a", "operator_b"]),
    ("role=diner&canteen_id={b}", ["wxm"]),
    ("canteen_id={b}", ["operator_b", "wxm"]),  # an operator's canteen and a diner's own
    ("role=bureau&q=k2", ["bureau_k2"]),
])
def test_accounts_are_searched_and_filtered(admin, org, many_diners, query, expected):
    page = admin.get("/admin/users?" + query.format(b=org.canteens["b"]))
    assert page.status_code == 200
    assert user_rows(page.text) == expected
    assert total_line(page.text) == f"{len(expected)} found, page 1 of 1"


def test_a_diner_filter_keeps_its_filters_in_the_page_links(admin, org, many_diners):
    page = admin.get(f"/admin/users?q=diner_&role=diner&canteen_id={org.canteens['a']}&page=2")
    # diner_a and the 120 diners: 121; page 2 starts with the 51st, diner_050.
    assert total_line(page.text) == "121 found, page 2 of 3"
    assert user_rows(page.text)[0] == "diner_050"
    assert f'href="/admin/users?q=diner_&amp;role=diner&amp;canteen_id={org.canteens["a"]}&amp;page=3"' in page.text
    # The filter form shows what was chosen.
    assert '<option value="diner" selected>' in page.text
    assert f'<option value="{org.canteens["a"]}" selected>' in page.text
    assert 'name="q" value="diner_"' in page.text


@pytest.mark.parametrize(("query", "named"), [
    ("page=abc", ""), ("page=0", ""), ("role=chef", "Role"), ("canteen_id=x", "Canteen")])
def test_bad_filters_are_refused_and_the_list_shown_unfiltered(admin, org, query, named):
    response = admin.get(f"/admin/users?{query}")
    assert response.status_code == 422
    error = re.search(r'<p class="error" role="alert">([^<]+)</p>', response.text)
    assert error and named in error.group(1)
    assert user_rows(response.text)[0] == "admin"  # the list is still there, unfiltered


def test_a_page_of_accounts_takes_a_few_queries_whatever_its_length(org, many_diners, session, engine):
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        page = service.search_users(session, SYSTEM, "", None, org.canteens["a"], page=2)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert (page.total, page.number, page.pages, len(page.rows)) == (122, 2, 3, 50)
    assert [row.user.username for row in page.rows][:2] == ["diner_049", "diner_050"]
    assert {tuple(row.canteens) for row in page.rows} == {("食堂A",)}
    # count, the page (LIMIT/OFFSET in SQL), operator links, canteen names: no query per account.
    assert len(statements) <= 5, statements
    assert any("LIMIT" in statement.upper() and "OFFSET" in statement.upper() for statement in statements)


def test_only_an_administrator_may_search_the_accounts(org, session):
    bureau = auth_service.scope_for(session, session.get(User, org.users["bureau_c1"]))
    with pytest.raises(Forbidden):
        service.search_users(session, bureau)


# ---- canteens ------------------------------------------------------------------


@pytest.fixture
def many_canteens(org, session: Session) -> None:
    """60 more canteens in county K2: 分食堂01 … 分食堂60."""
    for number in range(1, 61):
        org_service.create_canteen(session, SYSTEM, CanteenCreate(bureau_id=org.k2, name=f"分食堂{number:02d}"),
                                   "Asia/Shanghai")
    session.commit()


def canteen_rows(page: str) -> list[str]:
    table = page.split('<table class="canteens">')[1].split("</table>")[0]
    return re.findall(r"<tr>\s*<td>([^<]+)</td>", table)


def test_canteens_are_paged_and_filtered_by_name_and_bureau(admin, org, many_canteens):
    first = admin.get("/admin/canteens")
    assert total_line(first.text) == "63 found, page 1 of 2"
    rows = canteen_rows(first.text)
    assert len(rows) == 50 and rows[:4] == ["食堂A", "食堂B", "食堂H", "分食堂01"]
    assert len(canteen_rows(admin.get("/admin/canteens?page=2").text)) == 13

    assert canteen_rows(admin.get("/admin/canteens?q=分食堂0").text) == [f"分食堂0{n}" for n in range(1, 10)]
    # A bureau's whole subtree: C1 has A (in county K1) and H (its own).
    assert canteen_rows(admin.get(f"/admin/canteens?bureau_id={org.c1}").text) == ["食堂A", "食堂H"]
    assert len(canteen_rows(admin.get(f"/admin/canteens?bureau_id={org.c2}&q=分").text)) == 50


# ---- stations ------------------------------------------------------------------


def station_rows(page: str) -> list[tuple[str, str]]:
    table = page.split('<table class="stations">')[1].split("</table>")[0]
    return re.findall(r"<tr>\s*<td>([^<]+)</td>\s*<td>([^<]+)</td>", table)


def test_stations_are_filtered_by_canteen_kind_and_name(admin, org, session):
    org_service.create_station(session, SYSTEM, StationCreate(canteen_id=org.canteens["b"], name="后厨秤",
                                                              kind=StationKind.kitchen))
    session.commit()
    assert total_line(admin.get("/admin/stations").text) == "4 found, page 1 of 1"
    assert station_rows(admin.get("/admin/stations?kind=kitchen").text) == [("食堂B", "后厨秤")]
    assert station_rows(admin.get(f"/admin/stations?canteen_id={org.canteens['b']}").text) == [
        ("食堂B", "回收台1"), ("食堂B", "后厨秤")]
    assert station_rows(admin.get("/admin/stations?q=食堂H").text) == [("食堂H", "回收台1")]  # by canteen name
    assert admin.get("/admin/stations?kind=oven").status_code == 422


def set_last_seen(session: Session, station_id: int, moment: datetime | None) -> None:
    station = session.get(Station, station_id)
    station.last_seen_at = moment
    session.add(station)
    session.commit()


def test_stations_show_when_they_were_last_seen_with_the_date_in_the_canteens_zone(admin, org, session, clock):
    # The clock reads 2026-11-23 02:00 UTC, 10:00 in Shanghai.
    set_last_seen(session, org.stations["a"], datetime(2026, 11, 23, 1, 57, tzinfo=UTC))  # 09:57, 3 min ago
    set_last_seen(session, org.stations["b"], datetime(2025, 12, 31, 17, 0, tzinfo=UTC))  # 2026-01-01 01:00
    set_last_seen(session, org.stations["h"], datetime(2025, 6, 1, 4, 5, tzinfo=UTC))  # 2025-06-01 12:05
    page = admin.get("/admin/stations").text
    seen = re.findall(r'<td class="last-seen">([^<]*)</td>\s*<td class="(good|bad)">([^<]*)</td>', page)
    assert seen == [("today 09:57", "good", "online"), ("1/1 01:00", "bad", "offline"),
                    ("2025-06-01 12:05", "bad", "offline")]

    admin.cookies.set("canteen_lang", "zh_CN")
    page = admin.get("/admin/stations").text
    seen = re.findall(r'<td class="last-seen">([^<]*)</td>', page)
    assert seen == ["今天 09:57", "1月1日 01:00", "2025-06-01 12:05"]


def test_a_canteen_in_another_zone_shows_its_own_time(admin, org, session):
    canteen = session.get(Canteen, org.canteens["b"])
    canteen.timezone = "Asia/Urumqi"  # UTC+6
    session.add(canteen)
    session.commit()
    set_last_seen(session, org.stations["b"], datetime(2026, 11, 22, 17, 30, tzinfo=UTC))  # 23:30 on 11-22 there
    page = admin.get(f"/admin/stations?canteen_id={org.canteens['b']}").text
    assert re.findall(r'<td class="last-seen">([^<]*)</td>', page) == ["11/22 23:30"]


# ---- bureaus -------------------------------------------------------------------


def bureau_rows(page: str) -> list[str]:
    table = page.split('<table class="bureaus">')[1].split("</table>")[0]
    return re.findall(r"<tr><td>([^<]+)</td>", table)


def test_bureaus_are_searched_and_filtered_by_level(admin, org):
    assert bureau_rows(admin.get("/admin/bureaus?level=county").text) == ["K1县", "K2县"]
    assert bureau_rows(admin.get("/admin/bureaus?q=c2").text) == ["C2市"]
    page = admin.get("/admin/bureaus?q=zzz").text
    assert bureau_rows(page) == [] and total_line(page) == "0 found, page 1 of 1"
    assert "K2县" in page  # the add form still offers every bureau as a parent, whatever the list shows
