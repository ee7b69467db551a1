"""The canteen page: its facts, meal windows and stations with when each last reported."""
import re
from datetime import UTC, datetime

from sqlmodel import Session

from canteen.access import SYSTEM
from canteen.org import service as org_service
from canteen.org.models import CanteenCreate, Station, StationCreate, StationKind


def seen_cells(page: str) -> list[tuple[str, str, str]]:
    return re.findall(r'<td class="last-seen">([^<]*)</td><td class="(good|bad)">([^<]*)</td>', page)


def test_the_canteen_page_shows_last_seen_with_its_date_and_the_status(client, sign_in, org, session: Session):
    # The clock reads 2026-11-23 02:00 UTC, 10:00 in Shanghai.
    plate = session.get(Station, org.stations["a"])
    plate.last_seen_at = datetime(2026, 11, 22, 16, 30, tzinfo=UTC)  # 00:30 today in Shanghai (still 11-22 in UTC)
    session.add(plate)
    kitchen, _ = org_service.create_station(session, SYSTEM, StationCreate(
        canteen_id=org.canteens["a"], name="后厨秤", kind=StationKind.kitchen))
    kitchen.last_seen_at = datetime(2026, 11, 23, 1, 58, tzinfo=UTC)  # 09:58, two minutes ago
    session.add(kitchen)
    org_service.create_station(session, SYSTEM, StationCreate(canteen_id=org.canteens["a"], name="备用台",
                                                              kind=StationKind.plate_return))
    session.commit()

    sign_in("operator_a")
    page = client.get(f"/canteens/{org.canteens['a']}")
    assert page.status_code == 200
    assert seen_cells(page.text) == [("今天 00:30", "bad", "离线"), ("今天 09:58", "good", "在线"),
                                     ("从未", "bad", "离线")]

    client.cookies.set("canteen_lang", "en")
    page = client.get(f"/canteens/{org.canteens['a']}")
    assert seen_cells(page.text) == [("today 00:30", "bad", "offline"), ("today 09:58", "good", "online"),
                                     ("never", "bad", "offline")]


def test_a_station_seen_on_an_earlier_day_shows_that_day(client, sign_in, org, session: Session, clock):
    plate = session.get(Station, org.stations["a"])
    plate.last_seen_at = datetime(2026, 11, 22, 3, 4, tzinfo=UTC)  # 11:04 yesterday
    session.add(plate)
    session.commit()
    sign_in("operator_a")
    assert seen_cells(client.get(f"/canteens/{org.canteens['a']}").text) == [("11月22日 11:04", "bad", "离线")]
    clock.advance(days=365)  # a year on, the year is shown too
    sign_in("operator_a")  # the old session has expired by then
    assert seen_cells(client.get(f"/canteens/{org.canteens['a']}").text) == [("2026-11-22 11:04", "bad", "离线")]


def canteen_links(page: str) -> list[str]:
    return re.findall(r'<td><a href="/canteens/\d+">([^<]+)</a></td>', page)


def test_a_bureau_home_lists_its_canteens_searched_and_in_pages(client, sign_in, org, session: Session):
    for number in range(1, 56):  # 55 more canteens in K1, under C1: with A and H, 57 in C1's jurisdiction
        org_service.create_canteen(session, SYSTEM, CanteenCreate(bureau_id=org.k1, name=f"分食堂{number:02d}"),
                                   "Asia/Shanghai")
    session.commit()
    sign_in("bureau_c1")
    client.cookies.set("canteen_lang", "en")
    first = client.get("/").text
    assert canteen_links(first)[:3] == ["食堂A", "食堂H", "分食堂01"] and len(canteen_links(first)) == 50
    assert "57 found, page 1 of 2" in first and "食堂B" not in first
    assert canteen_links(client.get("/?page=2").text) == [f"分食堂{n}" for n in range(49, 56)]
    searched = client.get("/?q=分食堂5").text
    assert canteen_links(searched) == [f"分食堂5{n}" for n in range(0, 6)]
    assert "K1县" in searched  # each canteen's bureau
    refused = client.get("/?page=none")
    assert refused.status_code == 422 and '<p class="error" role="alert">' in refused.text


ADMIN_FORM = {"name": "食堂A", "operating_mode": "self-run", "serving_mode": "buffet", "timezone": "Asia/Shanghai",
              "seats": "", "breakfast_starts": "07:00", "breakfast_ends": "09:00", "lunch_starts": "11:30",
              "lunch_ends": "13:30", "dinner_starts": "17:30", "dinner_ends": "19:30"}


def history_rows(page: str) -> list[tuple[str, str]]:
    table = page.split('<table class="setting-history">')[1].split("</table>")[0]
    return re.findall(r"<tr><td>(\d+)</td>\s*<td>([^<]*)</td>", table)


def test_the_administrator_dates_a_new_threshold_and_everyone_sees_its_history(client, sign_in, csrf, org):
    path = f"/admin/canteens/{org.canteens['a']}"
    admin = sign_in("admin")
    assert 'name="clean_plate_threshold_g" value="10"' in admin.get(path).text
    # Saving the other fields adds nothing to the history.
    saved = admin.post(path, data={**ADMIN_FORM, "clean_plate_threshold_g": "10", "csrf_token": csrf()},
                       follow_redirects=False)
    assert saved.status_code == 303
    assert history_rows(admin.get(path).text) == [("10", "启用之初")]
    # The clock reads 2026-11-23 (Shanghai): empty means from tomorrow.
    saved = admin.post(path, data={**ADMIN_FORM, "clean_plate_threshold_g": "20", "csrf_token": csrf()},
                       follow_redirects=False)
    assert saved.status_code == 303, saved.text
    refused = admin.post(path, data={**ADMIN_FORM, "clean_plate_threshold_g": "30", "applies_from": "1999-01-01",
                                     "csrf_token": csrf()}, follow_redirects=False)
    assert refused.status_code == 422 and 'value="1999-01-01"' in refused.text
    assert history_rows(admin.get(path).text) == [("20", "2026-11-24"), ("10", "启用之初")]

    admin.post("/logout", data={"csrf_token": csrf()})
    page = sign_in("operator_a").get(f"/canteens/{org.canteens['a']}")
    assert history_rows(page.text) == [("20", "2026-11-24"), ("10", "启用之初")]
    assert 'name="clean_plate_threshold_g"' not in page.text
