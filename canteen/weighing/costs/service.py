"""The waste factors in force for a canteen, setting them, and valuing waste with them."""
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any, cast

import pandas as pd
from sqlalchemy import func
from sqlmodel import Session, col, select

from canteen.access import Role, Scope, may_operate
from canteen.db import among
from canteen.errors import Forbidden
from canteen.i18n import N_
from canteen.org import service as org_service
from canteen.org.models import Bureau, Canteen
from canteen.weighing.costs.models import (
    Factor,
    FactorSource,
    FactorsRead,
    FactorsUpdate,
    Valuation,
    WasteFactors,
    WasteStage,
)
from canteen.weighing.models import DailyRollup
from canteen.weighing.service import KITCHEN_COLUMNS

# Shown translated where the factors are shown (the API gives the English).
FAO_2013 = N_("FAO (2013), Food Wastage Footprint: Impacts on Natural Resources: the 1.3 Gt of food wasted a year "
              "stand for 3.3 Gt CO2e and 250 km³ of blue water")
# 3.3 Gt CO2e / 1.3 Gt and 250 km³ / 1.3 Gt, rounded as the report's summary rounds them.
DEFAULT_CO2E_KG_PER_KG = 2.5
DEFAULT_WATER_L_PER_KG = 190.0
# What a kilogram of a canteen's food costs to buy, on average over rice, vegetables and meat: a canteen is
# expected to set its own purchase prices.
DEFAULT_PRICE_YUAN_PER_KG = 10.0
PRICE_REFERENCE = N_("an average ingredient price, to be replaced by the canteen's own purchase prices")

# The rollup's column for each stage's grams: the plates', then the kitchen categories' as the rollup names them.
STAGE_COLUMNS = {
    WasteStage.plate: DailyRollup.plate_waste_g,
    **{WasteStage(category.value): getattr(DailyRollup, name) for category, name in KITCHEN_COLUMNS.items()},
}


def _path_chain(path: str) -> list[int]:
    """The ids of a materialised path's bureaus, nearest first: "/1/3/7/" -> [7, 3, 1]."""
    return [int(part) for part in reversed(path.strip("/").split("/"))]


def _bureau_owners(session: Session, bureau: Bureau) -> list[WasteFactors]:
    """The factors rows of the bureau and of those above it, nearest first (those that exist)."""
    chain = _path_chain(bureau.path)
    rows = {row.bureau_id: row for row in session.exec(select(WasteFactors).where(among(WasteFactors.bureau_id,
                                                                                          chain)))}
    return [rows[bureau_id] for bureau_id in chain if bureau_id in rows]


def _resolve(rows: list[WasteFactors]) -> FactorsRead:
    def first(pick, default: float, reference: str) -> Factor:
        for row in rows:
            if (value := pick(row)) is not None:
                source = FactorSource.canteen if row.canteen_id is not None else FactorSource.bureau
                return Factor(value=value, source=source, bureau_id=row.bureau_id)
        return Factor(value=default, source=FactorSource.default, reference=reference)

    return FactorsRead(
        prices={stage: first(lambda row, stage=stage: row.prices.get(stage.value), DEFAULT_PRICE_YUAN_PER_KG,
                             PRICE_REFERENCE) for stage in WasteStage},
        co2e_kg_per_kg=first(lambda row: row.co2e_kg_per_kg, DEFAULT_CO2E_KG_PER_KG, FAO_2013),
        water_l_per_kg=first(lambda row: row.water_l_per_kg, DEFAULT_WATER_L_PER_KG, FAO_2013))


def canteen_factors(session: Session, scope: Scope, canteen_id: int) -> FactorsRead:
    """The factors in force for a canteen anyone who sees it may read."""
    org_service.get_canteen(session, scope, canteen_id)
    return factors_of(session, [canteen_id])[canteen_id]


def bureau_factors(session: Session, scope: Scope, bureau_id: int) -> FactorsRead:
    """What a bureau's canteens inherit from it (its own factors over those of the bureaus above it)."""
    return _resolve(_bureau_owners(session, org_service.get_bureau(session, scope, bureau_id)))


def own_canteen_factors(session: Session, scope: Scope, canteen_id: int) -> FactorsUpdate:
    """What the canteen sets itself (an empty update: it inherits everything)."""
    org_service.get_canteen(session, scope, canteen_id)
    return _own_update(_own_row(session, canteen_id=canteen_id))


def own_bureau_factors(session: Session, scope: Scope, bureau_id: int) -> FactorsUpdate:
    """What the bureau sets itself for its canteens (an empty update: it passes on what it inherits)."""
    org_service.get_bureau(session, scope, bureau_id)
    return _own_update(_own_row(session, bureau_id=bureau_id))


def _own_update(row: WasteFactors | None) -> FactorsUpdate:
    if row is None:
        return FactorsUpdate()
    return FactorsUpdate(prices={WasteStage(stage): price for stage, price in row.prices.items()},
                         co2e_kg_per_kg=row.co2e_kg_per_kg, water_l_per_kg=row.water_l_per_kg)


def _own_row(session: Session, **owner: int) -> WasteFactors | None:
    """The factors row of one owner (canteen_id= or bureau_id=), None when it sets nothing yet."""
    return session.exec(select(WasteFactors).filter_by(**owner)).first()


def _store(session: Session, scope: Scope, data: FactorsUpdate, now: datetime, **owner: int) -> None:
    """Replace one owner's factors (canteen_id= or bureau_id=) with what `data` sets."""
    row = _own_row(session, **owner) or WasteFactors.model_validate({**owner, "updated_at": now})
    row.prices = {stage.value: round(price, 2) for stage, price in data.prices.items() if price is not None}
    row.co2e_kg_per_kg, row.water_l_per_kg = data.co2e_kg_per_kg, data.water_l_per_kg
    row.updated_by, row.updated_at = scope.user_id or None, now
    session.add(row)
    session.flush()


def set_canteen_factors(session: Session, scope: Scope, canteen_id: int, data: FactorsUpdate,
                        now: datetime) -> FactorsRead:
    """Replace the canteen's own factors (what it leaves out it inherits); its operators and administrators."""
    org_service.get_canteen(session, scope, canteen_id)
    if not may_operate(scope, canteen_id):
        raise Forbidden("only the canteen's operators may set its waste factors")
    _store(session, scope, data, now, canteen_id=canteen_id)
    return factors_of(session, [canteen_id])[canteen_id]


def may_set_bureau_factors(scope: Scope) -> bool:
    """The bureau's users (or those of a bureau above it, who see it) and administrators."""
    return scope.role in (Role.bureau, Role.admin)


def set_bureau_factors(session: Session, scope: Scope, bureau_id: int, data: FactorsUpdate,
                       now: datetime) -> FactorsRead:
    """Replace the defaults a bureau gives its canteens."""
    org_service.get_bureau(session, scope, bureau_id)
    if not may_set_bureau_factors(scope):
        raise Forbidden("only a bureau may set its canteens' default waste factors")
    _store(session, scope, data, now, bureau_id=bureau_id)
    return bureau_factors(session, scope, bureau_id)


def value(grams_by_stage: dict[WasteStage, float], factors: FactorsRead) -> Valuation:
    """Money at each stage's price; CO2e and water alike for every kilogram of food."""
    grams = sum(grams_by_stage.values())
    yuan = sum(grams / 1000 * factors.prices[stage].value for stage, grams in grams_by_stage.items())
    return Valuation(grams=grams, yuan=yuan, co2e_kg=grams / 1000 * factors.co2e_kg_per_kg.value,
                     water_l=grams / 1000 * factors.water_l_per_kg.value)


def valued_days(frame: pd.DataFrame, factors: FactorsRead) -> pd.DataFrame:
    """Per row of a daily series (canteen.weighing.service.daily_series, its days with data or not): the waste as
    yuan, kg CO2e and litres of water."""
    grams = frame[[column.key for column in STAGE_COLUMNS.values()]].fillna(0)
    kg = grams.sum(axis=1) / 1000
    yuan = sum((grams[column.key] / 1000 * factors.prices[stage].value for stage, column in STAGE_COLUMNS.items()),
               start=pd.Series(0.0, index=frame.index))
    return pd.DataFrame({"kg": kg, "yuan": yuan, "co2e_kg": kg * factors.co2e_kg_per_kg.value,
                         "water_l": kg * factors.water_l_per_kg.value}, index=frame.index)


def _stage_sums(session: Session, start: date, end: date, *where: Any) -> dict[int, dict[WasteStage, float]]:
    """Grams of waste per stage and canteen over the rollups from start to end (inclusive) that `where` picks."""
    sums = session.execute(
        select(DailyRollup.canteen_id, *(func.sum(column) for column in STAGE_COLUMNS.values()))
        .join(Canteen, col(Canteen.id) == DailyRollup.canteen_id).join(Bureau, col(Bureau.id) == Canteen.bureau_id)
        .where(DailyRollup.service_date >= start, DailyRollup.service_date <= end, *where)
        .group_by(col(DailyRollup.canteen_id))).all()
    return {canteen_id: {stage: float(grams) for stage, grams in zip(STAGE_COLUMNS, stage_grams, strict=True)}
            for canteen_id, *stage_grams in cast("list[tuple[int, ...]]", sums)}


def waste_between(session: Session, canteen_id: int, start: date, end: date) -> dict[WasteStage, float]:
    """Grams of waste per stage over the canteen's rollups from start to end (inclusive)."""
    return _stage_sums(session, start, end, DailyRollup.canteen_id == canteen_id).get(
        canteen_id, dict.fromkeys(STAGE_COLUMNS, 0.0))


def valued_waste(session: Session, canteen: Canteen, start: date, end: date) -> tuple[Valuation, FactorsRead]:
    """A canteen's waste from start to end (inclusive) valued with the factors in force, and those factors."""
    assert canteen.id is not None
    factors = factors_of(session, [canteen.id])[canteen.id]
    return value(waste_between(session, canteen.id, start, end), factors), factors


def factors_of(session: Session, canteen_ids: Sequence[int]) -> dict[int, FactorsRead]:
    """The factors in force for each of the canteens: two queries whatever their number (the factors table holds
    a row per owner at most), and one resolution per distinct set of owners."""
    rows = session.exec(select(WasteFactors)).all()
    if not rows:  # nobody set anything (a new deployment): the defaults, without reading the canteens
        defaults = _resolve([])
        return dict.fromkeys(canteen_ids, defaults)
    paths = session.execute(select(Canteen.id, Bureau.path).join(Bureau, col(Bureau.id) == Canteen.bureau_id)
                            .where(among(Canteen.id, canteen_ids))).all()
    own = {row.canteen_id: row for row in rows if row.canteen_id is not None}
    bureaus = {row.bureau_id: row for row in rows if row.bureau_id is not None}
    resolved: dict[tuple[int | None, ...], FactorsRead] = {}
    factors = {}
    for canteen_id, path in cast("list[tuple[int, str]]", paths):
        owners = [row for row in (own.get(canteen_id), *(bureaus.get(bureau_id) for bureau_id in _path_chain(path)))
                  if row is not None]
        key = tuple(row.id for row in owners)
        if key not in resolved:
            resolved[key] = _resolve(owners)
        factors[canteen_id] = resolved[key]
    return factors


def valued_waste_in(session: Session, path: str, start: date, end: date) -> dict[int, Valuation]:
    """Every canteen under the bureau at `path` (its whole subtree; "/" for all) with waste from start to end
    (inclusive), valued with its own factors."""
    return _valued(session, _stage_sums(session, start, end, col(Bureau.path).startswith(path)))


def _valued(session: Session, sums: dict[int, dict[WasteStage, float]]) -> dict[int, Valuation]:
    factors = factors_of(session, list(sums))
    return {canteen_id: value(grams, factors[canteen_id]) for canteen_id, grams in sums.items()}


def total(valued: dict[int, Valuation]) -> Valuation:
    """The canteens' valuations added up (in id order, so the same canteens give the same float sums)."""
    ordered = [valued[canteen_id] for canteen_id in sorted(valued)]
    return Valuation(grams=sum(v.grams for v in ordered), yuan=sum(v.yuan for v in ordered),
                     co2e_kg=sum(v.co2e_kg for v in ordered), water_l=sum(v.water_l for v in ordered))
