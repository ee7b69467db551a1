"""The bulletin's sentence on the jurisdiction's waste: tonnes, yuan and CO2e, each canteen valued with its own
factors, worked out by hand; a bulletin drafted before the figure existed still renders."""
from datetime import UTC, date, datetime

from sqlmodel import Session

from canteen.access import SYSTEM
from canteen.assessment.bulletins import content as bulletin_content
from canteen.assessment.bulletins.render import BulletinMeta, render_html
from canteen.weighing import service as weighing_service
from canteen.weighing.costs import service as costs_service
from canteen.weighing.costs.models import FactorsUpdate, WasteStage
from canteen.weighing.models import KitchenCategory, KitchenEntry, Meal
from tests.assessment.bulletin_data import jurisdiction

NOW = datetime(2026, 11, 5, 4, 0, tzinfo=UTC)
META = BulletinMeta(title="通报", issuer="P省", version=1, issued_on=date(2026, 11, 5))
TEXT = {"opening": "", "good_practices": "", "requirements": ""}


def kitchen(session: Session, canteen_id: int, day: date, category: KitchenCategory, grams: int) -> None:
    weighing_service.record_kitchen_waste(session, SYSTEM, canteen_id, KitchenEntry(
        service_date=day, meal=Meal.lunch, category=category, grams=grams), NOW)


def test_the_jurisdictions_waste_is_valued_canteen_by_canteen(session: Session, org):
    jurisdiction(session, org)
    costs_service.set_bureau_factors(session, SYSTEM, org.province, FactorsUpdate(
        prices={WasteStage.unserved: 10}, co2e_kg_per_kg=3.0), NOW)
    costs_service.set_canteen_factors(session, SYSTEM, org.canteens["a"], FactorsUpdate(
        prices={WasteStage.unserved: 20}), NOW)
    kitchen(session, org.canteens["a"], date(2026, 10, 9), KitchenCategory.unserved, 400_000)
    kitchen(session, org.canteens["b"], date(2026, 10, 20), KitchenCategory.unserved, 600_000)
    kitchen(session, org.canteens["b"], date(2026, 10, 31), KitchenCategory.trimmings, 250_000)
    kitchen(session, org.canteens["b"], date(2026, 11, 1), KitchenCategory.trimmings, 999_000)  # November's
    weighing_service.refresh_stale(session, NOW)
    session.commit()

    province = bulletin_content.build_content(session, SYSTEM, org.province, "2026-10")
    # A: 400 kg at its own ¥20 = ¥8,000; B: 600 kg at the province's ¥10 and 250 kg at the default ¥10 = ¥8,500.
    # 1.25 t at the province's 3.0 t CO2e a tonne = 3.75 t; 1,250 kg × 190 L = 237.5 m³, rounded half up.
    assert province["waste"] == {"canteens": 2, "tonnes": 1.25, "yuan": 16500.0, "co2e_tonnes": 3.75,
                                 "water_m3": 238.0}
    html = render_html(province, TEXT, META)
    assert "全辖区餐余和后厨浪费合计 1.25 吨，折合约 ¥16,500，约 3.75 吨二氧化碳当量" in html
    # City C1's jurisdiction holds A (and H, which weighed nothing) only.
    assert bulletin_content.build_content(session, SYSTEM, org.c1, "2026-10")["waste"] == {
        "canteens": 1, "tonnes": 0.4, "yuan": 8000.0, "co2e_tonnes": 1.2, "water_m3": 76.0}
    older = {key: value for key, value in province.items() if key != "waste"}
    assert "全辖区餐余" not in render_html(older, TEXT, META)
    assert bulletin_content.build_content(session, SYSTEM, org.k2, "2026-09")["waste"] is None
