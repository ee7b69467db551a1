"""What a bulletin says about a jurisdiction's canteens for a period, computed from their scorecards:
grade counts and shares, averages, change on the previous period, commended and failing canteens, ranking, trend."""
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlmodel import Session, col, select

from canteen.access import Scope
from canteen.assessment.models import AssessmentStandard, Scorecard, ScorecardKind
from canteen.assessment.periods import Period, parse_period
from canteen.assessment.rectification import DEADLINE_DAYS, failing_indicators
from canteen.assessment.standard import Standard, as_decimal, parse_standard
from canteen.org.models import Bureau, Canteen
from canteen.org.service import get_bureau
from canteen.weighing.costs.models import Valuation
from canteen.weighing.costs.service import total, valued_waste_in

TREND_PERIODS = 12
QUARTER_NAMES = "一二三四"


def period_label(period: Period) -> str:
    if period.kind is ScorecardKind.monthly:
        return f"{period.starts.year}年{period.starts.month}月"
    return f"{period.starts.year}年第{QUARTER_NAMES[(period.starts.month - 1) // 3]}季度"


def default_title(period: Period) -> str:
    return f"关于{period_label(period)}机关食堂反食品浪费工作成效评估情况的通报"


def _round(value: float | Decimal, digits: int) -> float:
    return float(as_decimal(value).quantize(Decimal(1).scaleb(-digits), ROUND_HALF_UP))


def _figures(rows: Sequence[Any]) -> dict[str, Any]:
    """Canteens assessed, their average total, and plate waste per diner weighted by diners (Σ waste ÷ Σ diners)."""
    weighed = [(row.waste, row.diners) for row in rows
               if row.waste is not None and row.diners is not None and row.diners > 0]
    diners = sum(count for _, count in weighed)
    return {
        "assessed": len(rows),
        "average_total": _round(sum(as_decimal(row.total) for row in rows) / len(rows), 1) if rows else None,
        "plate_waste_g_per_diner": _round(sum(waste * count for waste, count in weighed) / diners, 1)
        if diners else None,
        "diners": round(diners),
    }


def _change(now: dict[str, Any], before: dict[str, Any]) -> dict[str, float | None]:
    waste_now, waste_before = now["plate_waste_g_per_diner"], before["plate_waste_g_per_diner"]
    return {
        "average_total": _round(as_decimal(now["average_total"]) - as_decimal(before["average_total"]), 1),
        "plate_waste_pct": _round((waste_now / waste_before - 1) * 100, 1)
        if waste_now is not None and waste_before else None,
    }


def _waste(valued: dict[int, Valuation]) -> dict[str, Any] | None:
    """The jurisdiction's plate and kitchen waste for the period as tonnes, yuan, tonnes of CO2e and m³ of water,
    each canteen's valued with its own factors; None when no canteen weighed anything."""
    if not valued:
        return None
    summed = total(valued)
    return {"canteens": len(valued), "tonnes": _round(summed.grams / 1_000_000, 2), "yuan": _round(summed.yuan, 0),
            "co2e_tonnes": _round(summed.co2e_kg / 1000, 2), "water_m3": _round(summed.water_l / 1000, 0)}


def _standards(session: Session, ids: Iterable[int]) -> dict[int, tuple[AssessmentStandard, Standard]]:
    rows = session.exec(select(AssessmentStandard).where(col(AssessmentStandard.id).in_(sorted(set(ids)))))
    return {row.id: (row, parse_standard(row.source, f"{row.code} {row.version}"))
            for row in rows if row.id is not None}


def _ranking(rows: Sequence[Any]) -> list[dict[str, Any]]:
    """Highest total first, then by name; equal totals share a rank (1, 2, 2, 4)."""
    ordered = sorted(rows, key=lambda row: (-row.total, row.canteen, row.canteen_id))
    ranking, rank = [], 0
    for position, row in enumerate(ordered, start=1):
        if position == 1 or row.total != ordered[position - 2].total:
            rank = position
        ranking.append({"rank": rank, "canteen_id": row.canteen_id, "scorecard_id": row.scorecard_id,
                        "standard_id": row.standard_id, "canteen": row.canteen, "bureau": row.bureau,
                        "serving_mode": str(row.serving_mode), "total": row.total, "grade": row.grade,
                        "vetoed": row.vetoed})
    return ranking


def _summary(by_period: dict[Period, list[Any]], current: Period, grades: list[str]) -> dict[str, Any]:
    assessed = by_period[current]
    summary = _figures(assessed)
    counts = Counter(row.grade for row in assessed)
    summary["grades"] = [{"name": name, "count": counts[name], "share": _round(counts[name] / len(assessed), 4)}
                         for name in grades]
    earlier = by_period[current.previous]
    previous = _figures(earlier) if assessed and earlier else None
    summary["previous"] = {"period": current.previous.name, "label": period_label(current.previous),
                           **previous} if previous else None
    summary["change"] = _change(summary, previous) if previous else None
    return summary


def _failing(session: Session, ranking: list[dict[str, Any]], lowest: set[tuple[int, str]]) -> list[dict[str, Any]]:
    """Canteens graded lowest under their standard (vetoed ones included), in ranking order."""
    named = [entry for entry in ranking if (entry["standard_id"], entry["grade"]) in lowest or entry["vetoed"]]
    cards = {card.id: card for card in session.exec(select(Scorecard).where(
        col(Scorecard.id).in_([entry["scorecard_id"] for entry in named])))} if named else {}
    failing = []
    for entry in named:
        card = cards[entry["scorecard_id"]]
        failing.append({key: entry[key] for key in ("canteen_id", "scorecard_id", "canteen", "bureau", "total")}
                       | {"grade": card.grade, "indicators": failing_indicators(card),
                          "vetoes": [{"id": veto["id"], "name": veto["name"]} for veto in card.body["vetoes"]]})
    return failing


def build_content(session: Session, scope: Scope, bureau_id: int, period: str, *,
                  issued_on: date | None = None) -> dict[str, Any]:
    """The figures of a bulletin: every canteen of the bureau's jurisdiction with a scorecard for the period.

    JSON-safe and deterministic (sorted, no timestamps). `issued_on` dates the rectification deadline; without
    it the deadline is left out. Seven queries, whatever the number of canteens.
    """
    bureau = get_bureau(session, scope, bureau_id)
    current = parse_period(period)
    trend = [current]
    while len(trend) < TREND_PERIODS:
        trend.insert(0, trend[0].previous)
    # sqlmodel's select() is typed for at most 4 columns, and not for columns unpacked from a sequence
    scored = (
        select(col(Scorecard.id).label("scorecard_id"), Scorecard.canteen_id, Scorecard.period, Scorecard.standard_id,  # type: ignore[call-overload]
               Scorecard.total, Scorecard.grade, Scorecard.vetoed, col(Canteen.name).label("canteen"),
               Canteen.serving_mode, col(Bureau.name).label("bureau"), Scorecard.body["metrics"].label("metrics"))
        .join(Canteen, col(Canteen.id) == Scorecard.canteen_id)
        .join(Bureau, col(Bureau.id) == Canteen.bureau_id)
        .where(Scorecard.kind == current.kind, col(Scorecard.period).in_([p.name for p in trend]),
               col(Bureau.path).startswith(bureau.path))
        # Materialised, so that PostgreSQL parses each body (json, not jsonb) once rather than once per metric.
        .cte("scored").prefix_with("MATERIALIZED")
    )
    rows: Sequence[Any] = session.exec(select(  # type: ignore[call-overload]
        *(column for column in scored.c if column.name != "metrics"),
        scored.c.metrics[("diners", "value")].as_float().label("diners"),
        scored.c.metrics[("plate_waste_g_per_diner", "value")].as_float().label("waste"),
    )).all()
    by_name: dict[str, list[Any]] = {p.name: [] for p in trend}
    for row in rows:
        by_name[row.period].append(row)
    by_period = {p: by_name[p.name] for p in trend}
    assessed = by_period[current]
    standards = _standards(session, (row.standard_id for row in assessed))
    grades = list(dict.fromkeys(grade.name for _, (_, standard) in sorted(standards.items())
                                for grade in standard.grades))
    ranking = _ranking(assessed)
    lowest = {(id_, standard.grades[-1].name) for id_, (_, standard) in standards.items()}
    top = {(id_, standard.grades[0].name) for id_, (_, standard) in standards.items()}
    failing = _failing(session, ranking, lowest)
    counts = {id_: sum(row.standard_id == id_ for row in assessed) for id_ in standards}
    return {
        "bureau": {"id": bureau.id, "name": bureau.name},
        "period": {"code": current.name, "kind": current.kind.value, "label": period_label(current)},
        "standards": sorted(({"code": record.code, "version": record.version, "title": record.title,
                              "canteens": counts[id_]} for id_, (record, _) in standards.items()),
                            key=lambda item: (item["code"], item["version"])),
        "grades": grades,
        "summary": _summary(by_period, current, grades),
        "waste": _waste(valued_waste_in(session, bureau.path, current.starts, current.ends)),
        "commended": [{key: entry[key] for key in ("canteen_id", "canteen", "bureau", "total", "grade")}
                      for entry in ranking if (entry["standard_id"], entry["grade"]) in top and not entry["vetoed"]],
        "failing": failing,
        "vetoed": [{key: item[key] for key in ("canteen_id", "canteen", "bureau", "total", "vetoes")}
                   for item in failing if item["vetoes"]],
        "rectification": {
            "days": DEADLINE_DAYS,
            "deadline": (issued_on + timedelta(days=DEADLINE_DAYS)).isoformat() if issued_on else None,
        },
        "ranking": [{key: value for key, value in entry.items() if key not in ("scorecard_id", "standard_id")}
                    for entry in ranking],
        "trend": [{"period": p.name, "label": period_label(p), **_figures(by_period[p])} for p in trend],
    }


