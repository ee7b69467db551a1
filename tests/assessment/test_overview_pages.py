"""The overview at scale: one page of rows with the scorecards' columns, counts and waste over the whole jurisdiction."""
from sqlmodel import Session, select

from canteen.access import SYSTEM
from canteen.assessment import service
from canteen.assessment.models import Scorecard
from canteen.assessment.periods import parse_period
from canteen.org import service as org_service
from canteen.org.models import Canteen, CanteenCreate

OCTOBER = parse_period("2026-10")


def _card(stored_scorecard, canteen_id: int, total: float, grade: str, grams: int, diners: int) -> None:
    """A scorecard with the total, grade and plate-waste basis given (the overview reads those, not the scoring)."""
    card = stored_scorecard(canteen_id, OCTOBER.name)
    card.total, card.grade, card.vetoed = total, grade, grade == "不合格"
    card.body = card.body | {"metrics": {"plate_waste_g_per_diner": {
        "value": grams / diners, "basis": {"plate_waste_g": grams, "diners": diners}}}}


def test_the_overview_pages_with_counts_and_waste_over_the_whole_jurisdiction(session: Session, org, scope_of,
                                                                               stored_scorecard):
    k1 = [org_service.create_canteen(session, SYSTEM, CanteenCreate(bureau_id=org.k1, name=f"县食堂{index}"),
                                     "Asia/Shanghai").id for index in range(3)]
    d3 = org_service.create_canteen(session, SYSTEM, CanteenCreate(bureau_id=org.c1, name="市食堂"),
                                    "Asia/Shanghai").id
    a, h, b = org.canteens["a"], org.canteens["h"], org.canteens["b"]
    for canteen_id, total, grade, grams, diners in ((a, 95, "优秀", 20_000, 1000), (k1[0], 80, "良好", 30_000, 1000),
                                                    (k1[1], 70, "合格", 40_000, 1000), (h, 2.5, "不合格", 75_000, 1000),
                                                    (d3, 80, "良好", 20_000, 2000), (b, 60, "不合格", 50_000, 1000)):
        _card(stored_scorecard, canteen_id, total, grade, grams, diners)
    session.commit()
    c1 = scope_of("bureau_c1")  # A, the three county canteens (the last not scored), H and the city's own
    pages = [service.overview(session, c1, OCTOBER, service.OverviewFilter(), number, per_page=2)
             for number in (1, 2, 3)]
    # Best first, ties (80) by id, the canteen without a scorecard last.
    assert [[canteen.id for canteen, _ in found.page.rows] for found in pages] == [[a, k1[0]], [d3, k1[1]],
                                                                                   [h, k1[2]]]
    assert pages[1].page.rows[0][1] == service.CardSummary(total=80, grade="良好", vetoed=False, waste_g=None, waste_yuan=None)
    assert pages[2].page.rows[0][1] == service.CardSummary(total=2.5, grade="不合格", vetoed=True, waste_g=None, waste_yuan=None)
    assert pages[2].page.rows[1][1] is None
    for found in pages:  # the same figures on every page
        assert found.page.total == 6 and found.page.pages == 3
        assert found.grades == {"优秀": 1, "良好": 2, "合格": 1, "不合格": 1} and found.not_scored == 1
        # K1: (20 + 30 + 40 kg) over 3,000 diners; C1's own canteens: (75 + 20 kg) over 3,000.
        assert found.waste_by_bureau == {"C1市": 31.7, "K1县": 30.0}
    # The grade filter cuts the rows, not the counts.
    good = service.overview(session, c1, OCTOBER, service.OverviewFilter(grade="良好"), 1, per_page=2)
    assert [canteen.id for canteen, _ in good.page.rows] == [k1[0], d3] and good.grades["优秀"] == 1
    # The province (chosen by an administrator) sees its cities: C1 with K1, C2 with K2's canteen B.
    province = service.overview(session, scope_of("admin"), OCTOBER, service.OverviewFilter(bureau_id=org.province))
    assert province.waste_by_bureau == {"C1市": 30.8, "C2市": 50.0}  # 185 kg / 6,000 diners; 50 kg / 1,000
    assert province.grades == {"优秀": 1, "良好": 2, "合格": 1, "不合格": 2} and province.page.total == 7
    # Choosing a county: its canteens count under its own name.
    county = service.overview(session, c1, OCTOBER, service.OverviewFilter(bureau_id=org.k1))
    assert county.waste_by_bureau == {"K1县": 30.0} and county.not_scored == 1


def test_the_waste_by_bureau_follows_recomputed_scorecards_and_moved_canteens(session: Session, org, scope_of,
                                                                             stored_scorecard):
    a, h = org.canteens["a"], org.canteens["h"]
    _card(stored_scorecard, a, 80, "良好", 20_000, 1000)
    _card(stored_scorecard, h, 2.5, "不合格", 75_000, 1000)
    session.commit()
    c1 = scope_of("bureau_c1")
    assert service.overview(session, c1, OCTOBER, service.OverviewFilter()).waste_by_bureau == {
        "C1市": 75.0, "K1县": 20.0}
    # A recomputed: its scorecard replaced by one with 45 kg over 1,500 diners.
    session.delete(session.exec(select(Scorecard).where(Scorecard.canteen_id == a)).one())
    session.flush()
    _card(stored_scorecard, a, 80, "良好", 45_000, 1500)
    session.commit()
    assert service.overview(session, c1, OCTOBER, service.OverviewFilter()).waste_by_bureau == {
        "C1市": 75.0, "K1县": 30.0}
    # H moved into K1: K1 now (45 + 75 kg) over 2,500 diners.
    session.get(Canteen, h).bureau_id = org.k1
    session.commit()
    assert service.overview(session, c1, OCTOBER, service.OverviewFilter()).waste_by_bureau == {"K1县": 48.0}
