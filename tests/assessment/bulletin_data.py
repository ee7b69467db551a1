"""Scorecards for bulletin tests, scored by the engine against the reference standard, with hand-checked totals.

`jurisdiction()` adds to the shared `org` fixture (see tests/conftest.py) so that bureau C1 has four assessed
canteens for 2026-10, each with a total worked out by hand from the reference standard:

    canteen            bureau  diners  plate waste  lost points                                  total  grade
    食堂A               K1      2000    42 g         W2 2                                          98.0   优秀
    食堂H               C1      1000    54 g         G3 5, W2 4, E1 2.5                            88.5   良好
    城关机关食堂          K1       500    72 g         W2 7, S2 5, M3 5, M5 5, G1 5, G2 5, M4 3      65.0   不合格
    市政府机关食堂        C1      1500    36 g         W2 1, veto V1                                 99.0   不合格

and 2026-09 scorecards for A (48 g -> 97.0) and H (60 g -> 87.5). Canteen B (K2, outside C1) has a
2026-10 scorecard under a second, local standard.
"""
from datetime import UTC, datetime
from types import SimpleNamespace

from sqlmodel import Session

from canteen.access import SYSTEM, Scope
from canteen.assessment.models import AssessmentStandard, Scorecard
from canteen.assessment.periods import parse_period
from canteen.assessment.scoring import AssessmentInput, score
from canteen.assessment.standard import REFERENCE, ChecklistIndicator, parse_standard
from canteen.auth import service as auth_service
from canteen.auth.models import User
from canteen.org import service as org_service
from canteen.org.models import CanteenCreate, ServingMode

COMPUTED = datetime(2026, 11, 2, tzinfo=UTC)
REFERENCE_SOURCE = REFERENCE.read_text(encoding="utf-8")
LOCAL_SOURCE = REFERENCE_SOURCE.replace('code = "CANTEEN-REF"', 'code = "DB36/T 9999-2024"')
# Full points on every metric indicator of the reference standard.
PERFECT = {"forecast_wape": 0.05, "small_portion_share": 0.6, "surplus_food_g_per_diner": 5.0,
           "clean_plate_rate": 0.95, "weighing_coverage": 1.0, "plate_waste_g_per_diner": 25.0,
           "plate_waste_change_yoy_pct": -20.0, "kitchen_waste_g_per_diner": 60.0}


def scope_of(session: Session, org, username: str) -> Scope:
    return auth_service.scope_for(session, session.get(User, org.users[username]))


def standard_row(session: Session, source: str = REFERENCE_SOURCE) -> AssessmentStandard:
    parsed = parse_standard(source)
    row = AssessmentStandard(code=parsed.code, version=parsed.version, title=parsed.title,
                             content_hash=parsed.content_hash, source=source, loaded_at=COMPUTED)
    session.add(row)
    session.flush()
    return row


def add_scorecard(session: Session, standard: AssessmentStandard, canteen_id: int, period: str, *, waste: float,
                  diners: int, checklist: dict[str, str] | None = None, metrics: dict[str, float] | None = None,
                  vetoes: tuple[str, ...] = ()) -> Scorecard:
    """Every checklist indicator met and every metric at full points, unless told otherwise."""
    parsed_standard = parse_standard(standard.source)
    answers = {indicator.id: "met" for _, indicator in parsed_standard.indicators()
               if isinstance(indicator, ChecklistIndicator)} | (checklist or {})
    values = PERFECT | (metrics or {}) | {"plate_waste_g_per_diner": waste, "diners": float(diners)}
    card = score(parsed_standard, AssessmentInput(period=period, metrics=values, checklist=answers, vetoes=vetoes))
    parsed = parse_period(period)
    body = card.to_dict() | {"metrics": {name: {"value": value, "basis": {"source": "test"}}
                                         for name, value in sorted(values.items())}}
    row = Scorecard(canteen_id=canteen_id, kind=parsed.kind, period=parsed.name, starts=parsed.starts,
                    ends=parsed.ends, standard_id=standard.id, total=float(card.total), grade=card.grade,
                    vetoed=bool(card.vetoes), body=body, computed_at=COMPUTED)
    session.add(row)
    session.flush()
    return row


def jurisdiction(session: Session, org) -> SimpleNamespace:
    reference, local = standard_row(session), standard_row(session, LOCAL_SOURCE)
    new = {}
    for key, bureau, name, mode in (("x", org.k1, "城关机关食堂", ServingMode.table),
                                    ("v", org.c1, "市政府机关食堂", ServingMode.buffet)):
        new[key] = org_service.create_canteen(session, SYSTEM, CanteenCreate(
            bureau_id=bureau, name=name, serving_mode=mode), "Asia/Shanghai").id
    canteens = org.canteens | new
    add_scorecard(session, reference, canteens["a"], "2026-10", waste=42, diners=2000)
    add_scorecard(session, reference, canteens["h"], "2026-10", waste=54, diners=1000,
                  checklist={"G3": "not_met", "E1": "partly"})
    add_scorecard(session, reference, canteens["x"], "2026-10", waste=72, diners=500,
                  checklist={"S2": "not_met", "M3": "not_met", "M4": "partly", "G1": "not_met", "G2": "not_met"},
                  metrics={"surplus_food_g_per_diner": 30.0})
    add_scorecard(session, reference, canteens["v"], "2026-10", waste=36, diners=1500, vetoes=("V1",))
    add_scorecard(session, reference, canteens["a"], "2026-09", waste=48, diners=2000)
    add_scorecard(session, reference, canteens["h"], "2026-09", waste=60, diners=1000,
                  checklist={"G3": "not_met", "E1": "partly"})
    add_scorecard(session, local, canteens["b"], "2026-10", waste=30, diners=800)
    session.commit()
    return SimpleNamespace(canteens=canteens, reference=reference.id, local=local.id)
