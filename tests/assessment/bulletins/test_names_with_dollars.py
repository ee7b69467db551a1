"""A name with `$` in it is text, not TeX: the bulletin preview and the overview draw it as typed."""
from canteen.org.models import Bureau, Canteen

NAME = "南昌县$\\nope$食堂"  # matplotlib's mathtext would parse $\nope$ and fail on an unknown symbol
BUREAU = "K1县$x^2$局"
PASSING = {"plate_waste_g_per_diner": 20.0, "forecast_wape": 0.1, "small_portion_share": 0.5,
           "surplus_food_g_per_diner": 10.0}
MET = {item: "met" for item in ("S1", "S2", "S3", "M3", "M4", "G1", "G2", "G3", "E1")}


def test_the_bulletin_preview_and_overview_draw_names_with_dollars(sign_in, org, csrf, session, stored_scorecard):
    session.get(Canteen, org.canteens["a"]).name = NAME
    session.get(Bureau, org.k1).name = BUREAU
    stored_scorecard(org.canteens["a"], "2026-10", PASSING, MET)
    stored_scorecard(org.canteens["h"], "2026-10", {"plate_waste_g_per_diner": 75.0})
    session.commit()
    client = sign_in("bureau_c1")
    created = client.post("/assessment/bulletins", data={"csrf_token": csrf(), "bureau_id": org.c1,
                                                         "period": "2026-10"}, follow_redirects=False)
    assert created.status_code == 303
    preview = client.get(f"{created.headers['location']}/preview")
    assert preview.status_code == 200
    assert NAME in preview.text and preview.text.count("<svg") >= 2  # the ranking names it; charts drawn
    overview = client.get("/assessment?period=2026-10")
    assert overview.status_code == 200 and NAME in overview.text and "<svg" in overview.text
