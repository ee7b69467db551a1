"""A month of canteen A's kitchen records and hand-overs, and the figures worked out by hand from them: the records
in force (a corrected one counts as its correction), per day and kind, grams shown as kilograms."""

PASSWORD = "correct-horse-battery"  # the fixture users' (tests/conftest.py)
STATION = "后厨秤1"
COOK = "王师傅"  # classifies at the terminal and corrects records: an operator of canteen A

# Canteen A's kitchen waste by kind (g) on 20 and 21 November.
NOV_20 = {"storage": 300, "trimmings": 1500, "unserved": 1200, "kitchen-scraps": 0, "other": 0, "unclassified": 650}
NOV_21 = {"storage": 0, "trimmings": 1800, "unserved": 0, "kitchen-scraps": 0, "other": 450, "unclassified": 0}
MONTH = {kind: NOV_20[kind] + NOV_21[kind] for kind in NOV_20}  # 5,900 g in all
HANDOVERS = [  # date, collector, manifest, grams, note
    ("2026-11-20", "津环收运公司", "TJ-2026-0001", 3650, ""),
    ("2026-11-21", "津环收运公司", "TJ-2026-0002", 1500, ""),
    ("2026-11-21", "=HYPERLINK(\"x\")", "0003", 250, "=补记"),  # text that looks like a number or a formula
]
HANDED_OVER_G = 3650 + 1500 + 250  # 5,400 g: 500 g weighed and not handed over


def kitchen_waste(client, headers, canteen: int, day: str, category: str, grams: int, corrects: int | None = None):
    response = client.post(f"/api/v1/canteens/{canteen}/kitchen-waste", headers=headers,
                           params={"corrects": corrects} if corrects else None,
                           json={"service_date": day, "meal": "lunch", "category": category, "grams": grams})
    assert response.status_code == 201, response.text
    return response.json()


def handover(client, headers, canteen: int, day: str, collector: str, manifest: str, grams: int, note: str = ""):
    return client.post(f"/api/v1/canteens/{canteen}/waste-handovers", headers=headers, json={
        "handed_on": day, "collector": collector, "manifest_no": manifest, "grams": grams, "note": note})
