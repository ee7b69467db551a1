"""The dashboard's hourly chart is drawn once for the same plates and anew when a plate comes in."""
import re
from datetime import UTC, datetime, timedelta

LUNCH_END = datetime(2026, 11, 23, 5, 0, tzinfo=UTC)  # 13:00 in Shanghai


def _post(client, org, seq: int, at: datetime, grams: int) -> None:
    response = client.post("/api/v1/weighings", json={"items": [{"seq": seq, "measured_at": at.isoformat(),
                                                                 "grams": grams}]},
                           headers={"Authorization": f"Bearer {org.station_keys['a']}"})
    assert response.json()["accepted"] == 1


def _chart(page: str) -> str:
    found = re.search(r'<div class="chart">(<svg.*?</svg>)', page, re.S)
    assert found, "no hourly chart"
    return found[1]


def test_the_hourly_chart_is_cached_until_a_new_plate_arrives(client, sign_in, org, clock):
    clock.now = LUNCH_END
    _post(client, org, 1, LUNCH_END - timedelta(minutes=50), 30)  # 12:10
    operator = sign_in("operator_a")
    url = f"/canteens/{org.canteens['a']}/dashboard"
    first = _chart(operator.get(url).text)
    assert _chart(operator.get(url).text) == first  # the same plates: the same drawing
    _post(client, org, 2, LUNCH_END - timedelta(minutes=40), 40)  # 12:20, the same hour: one bar taller
    second = _chart(operator.get(url).text)
    assert second != first
    _post(client, org, 3, LUNCH_END - timedelta(minutes=70), 0)  # 11:50: a bar for 11:00 appears
    third = _chart(operator.get(url).text)
    assert third not in (first, second) and third.count("<path") > second.count("<path")
