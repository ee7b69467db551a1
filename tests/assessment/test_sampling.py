"""The yearly sampling plan: 35 % a year, everyone within three years, priorities, reproducible dates."""
import math
from datetime import UTC, date, datetime

import chinese_calendar
import pytest
from sqlmodel import select

from canteen.access import SYSTEM
from canteen.assessment import sampling, service
from canteen.assessment.models import Evaluation, EvaluationKind, EvaluationStatus, SamplingPick
from canteen.errors import Forbidden, InvalidInput, NotFound
from canteen.org import service as org_service
from canteen.org.models import CanteenCreate, ServingMode

NOW = datetime(2026, 1, 5, 2, 0, tzinfo=UTC)
FAILING = {"plate_waste_g_per_diner": 200.0}  # no answers, bad data: far below 70
# Every checklist item met (46 points) and good data (34): 80 points; with 60 g of plate waste per diner, 75.
MET = {item: "met" for item in ("S1", "S2", "S3", "M3", "M4", "G1", "G2", "G3", "E1")}
GOOD = {"plate_waste_g_per_diner": 20.0, "forecast_wape": 0.1, "small_portion_share": 0.5,
        "surplus_food_g_per_diner": 10.0}


@pytest.fixture
def county(session, org):
    """Ten more canteens in county K1 (beside canteen A): ids in creation order."""
    return [org_service.create_canteen(session, SYSTEM, CanteenCreate(
        bureau_id=org.k1, name=f"县食堂{index}", serving_mode=ServingMode.portioned), "Asia/Shanghai").id
        for index in range(10)]


def inspect(session, canteen_id: int, year: int) -> None:
    session.add(Evaluation(canteen_id=canteen_id, period=f"{year}-Q2", kind=EvaluationKind.inspection,
                           status=EvaluationStatus.submitted, standard_id=service.reference_row(session, NOW).id,
                           updated_at=NOW, submitted_at=NOW))
    session.flush()


def picked(session, plan_id: int) -> dict[int, list[str]]:
    rows = session.exec(select(SamplingPick).where(SamplingPick.plan_id == plan_id))
    return {pick.canteen_id: pick.reasons for pick in rows}


def test_priorities_fill_the_35_percent(session, org, county, stored_scorecard, scope_of):
    a = org.canteens["a"]
    inspect(session, county[0], 2022)  # its three-year window closes this year
    for canteen_id in [a, *county[1:9]]:
        inspect(session, canteen_id, 2025)
    stored_scorecard(county[1], "2025-Q4", FAILING)
    assert stored_scorecard(county[2], "2025-Q3", GOOD, MET).total == 80
    assert stored_scorecard(county[2], "2025-Q4", GOOD | {"plate_waste_g_per_diner": 60.0}, MET).total == 75
    plan = sampling.make_plan(session, scope_of("bureau_c1"), org.k1, 2026, seed=7, now=NOW)
    picks = picked(session, plan.id)
    # 11 canteens -> at least 4 (35 %): due, never assessed, failed, then the worsening one.
    assert len(picks) == math.ceil(0.35 * 11) == 4
    assert picks == {county[0]: ["due"], county[9]: ["never_assessed"], county[1]: ["failed"],
                     county[2]: ["worsening"]}


def test_everyone_within_three_years_and_the_same_seed_gives_the_same_plan(session, org, county, scope_of):
    bureau = scope_of("bureau_c1")
    everyone = {org.canteens["a"], *county}
    covered = set()
    for year in (2026, 2027, 2028):
        plan = sampling.make_plan(session, bureau, org.k1, year, seed=1, now=NOW)
        _, picks = sampling.plan_of(session, bureau, org.k1, year)
        assert len(picks) >= math.ceil(0.35 * len(everyone))
        days = [pick.planned_on for pick in picks]
        assert days == sorted(days) and all(date(year, 3, 1) <= day <= date(year, 11, 30) for day in days)
        assert all(chinese_calendar.is_workday(day) for day in days if day.year <= 2026)
        again = sampling.make_plan(session, bureau, org.k1, year, seed=1, now=NOW)
        assert again.id == plan.id and [(p.canteen_id, p.planned_on) for p in sampling.plan_of(
            session, bureau, org.k1, year)[1]] == [(p.canteen_id, p.planned_on) for p in picks]
        for pick in picks:
            inspect(session, pick.canteen_id, year)
            covered.add(pick.canteen_id)
    assert covered == everyone


def test_another_seed_breaks_ties_differently(session, org, county, scope_of):
    bureau = scope_of("bureau_c1")
    plans = set()
    for seed in range(6):
        plan = sampling.make_plan(session, bureau, org.k1, 2026, seed=seed, now=NOW)
        plans.add(frozenset(picked(session, plan.id)))
    assert len(plans) > 1  # eleven never-inspected canteens, four places: the seed decides


def test_only_bureaus_over_the_jurisdiction_plan(session, org, scope_of):
    with pytest.raises(NotFound):
        sampling.make_plan(session, scope_of("bureau_k2"), org.k1, 2026, seed=1, now=NOW)
    with pytest.raises(Forbidden):
        sampling.make_plan(session, scope_of("operator_a"), org.k1, 2026, seed=1, now=NOW)


DECEMBER = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)


def test_a_plan_drawn_in_december_visits_on_the_working_days_left(session, org, county, scope_of):
    plan = sampling.make_plan(session, scope_of("bureau_c1"), org.k1, 2026, seed=7, now=DECEMBER,
                              today=date(2026, 12, 1))
    days = sorted(pick.planned_on for pick in sampling.plan_of(session, scope_of("bureau_c1"), org.k1, 2026)[1])
    assert plan.year == 2026 and len(days) == 4  # 35 % of 11
    # Working days from 2 December: 2-4, 7-11, 14-18, 21-25, 28-31 (22 days); four visits every 5.5 days:
    # the 1st, 6th, 12th and 17th of them.
    assert days == [date(2026, 12, 2), date(2026, 12, 9), date(2026, 12, 17), date(2026, 12, 24)]


def test_a_plan_for_a_year_that_is_over_or_without_a_working_day_left_is_refused(session, org, county, scope_of):
    bureau = scope_of("bureau_c1")
    with pytest.raises(InvalidInput) as over:
        sampling.make_plan(session, bureau, org.k1, 2025, seed=7, now=DECEMBER, today=date(2026, 12, 1))
    assert over.value.field == "year"
    with pytest.raises(InvalidInput) as none_left:
        sampling.make_plan(session, bureau, org.k1, 2026, seed=7, now=DECEMBER, today=date(2026, 12, 31))
    assert none_left.value.field == "year"
    assert sampling.plan_of(session, bureau, org.k1, 2026) is None


def test_an_inspection_made_this_year_counts(session, org, county, scope_of):
    """Inspected in the third quarter, the canteen is neither "never inspected" nor first in line in December."""
    inspect(session, county[0], 2026)
    for canteen_id in [org.canteens["a"], *county[1:]]:
        inspect(session, canteen_id, 2025)
    plan = sampling.make_plan(session, scope_of("bureau_c1"), org.k1, 2026, seed=7, now=DECEMBER,
                              today=date(2026, 12, 1))
    picks = picked(session, plan.id)
    assert len(picks) == 4 and county[0] not in picks and set(map(tuple, picks.values())) == {("random",)}
    assert sampling.last_inspections(session, [county[0], county[1]]) == {county[0]: "2026-Q2",
                                                                          county[1]: "2025-Q2"}
