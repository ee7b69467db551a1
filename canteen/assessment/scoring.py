"""The scoring engine: a standard and one canteen's metrics, checklist answers, vetoes and bonuses -> a scorecard.

Pure and deterministic. Numbers are taken at their decimal face value, so a score computed by hand
matches to the digit: indicators keep two decimals and the total one, both rounded half-up.
"""
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, Strict

from canteen.assessment.standard import (
    METRICS,
    Band,
    BandsIndicator,
    ChecklistIndicator,
    Dimension,
    Indicator,
    LinearIndicator,
    Standard,
    as_decimal,
    plain,
)
from canteen.errors import InvalidInput

Answer = Literal["met", "partly", "not_met"]
Evidence = Literal["self", "inspection"]
ANSWER_TEXT = {"met": "达到", "partly": "部分达到", "not_met": "未达到"}
EVIDENCE_TEXT = {"self": "自评", "inspection": "检查组评定"}
NO_DATA_TEXT = "无数据"
CENT, TENTH = Decimal("0.01"), Decimal("0.1")


class ChecklistAnswer(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    answer: Answer
    by: Evidence = "self"
    note: str | None = None


def _answer_list(value: object) -> object:
    """One answer may be given alone, or as just its word ("met": the canteen's self-evaluation)."""
    if isinstance(value, str):
        return [{"answer": value}]
    return [value] if isinstance(value, dict | ChecklistAnswer) else value


class AssessmentInput(BaseModel):
    """What one canteen is scored on; metrics and checklist answers keyed by metric name and indicator id."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    canteen: str | None = None
    period: str | None = None
    metrics: dict[str, Annotated[float, Strict(), Field(allow_inf_nan=False)] | None] = {}  # None: no data
    checklist: dict[str, Annotated[tuple[ChecklistAnswer, ...], BeforeValidator(_answer_list)]] = {}
    vetoes: tuple[str, ...] = ()  # confirmed vetoes
    bonuses: tuple[str, ...] = ()  # awarded bonuses


class AssessmentInputError(InvalidInput):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("{problems}", problems="\n".join(problems))
        self.problems = problems

    def __str__(self) -> str:
        return "\n".join(self.problems)


@dataclass(frozen=True)
class Reason:
    """Why an indicator lost points (失分原因): `params` to render it anew, `text` rendered in Chinese."""

    kind: Literal["metric_rule", "checklist", "no_data"]
    params: dict[str, Any]
    text: str


@dataclass(frozen=True)
class IndicatorScore:
    id: str
    name: str
    dimension: str
    method: str
    points: Decimal
    earned: Decimal
    lost: Decimal
    metric: str | None  # metric indicators: the metric and the value used (None: no data)
    value: float | None
    answer: Answer | None  # checklist indicators: the answer used and who gave it
    answered_by: Evidence | None
    note: str | None
    reason: Reason | None  # None when no point was lost


@dataclass(frozen=True)
class DimensionScore:
    id: str
    name: str
    points: Decimal
    earned: Decimal


@dataclass(frozen=True)
class Award:
    id: str
    name: str
    points: Decimal


@dataclass(frozen=True)
class VetoFound:
    id: str
    name: str


@dataclass(frozen=True)
class Scorecard:
    standard_code: str
    standard_version: str
    standard_title: str
    standard_hash: str
    canteen: str | None
    period: str | None
    indicators: tuple[IndicatorScore, ...]
    dimensions: tuple[DimensionScore, ...]
    bonuses: tuple[Award, ...]  # awarded, each at its full value
    bonus_points: Decimal  # what the bonuses add: at most the standard's bonus_cap
    vetoes: tuple[VetoFound, ...]
    possible: Decimal
    total: Decimal  # one decimal, never above `possible`; shown even when a veto sets the grade
    grade: str

    def to_dict(self) -> dict[str, Any]:
        return _json_safe(asdict(self))


def score(standard: Standard, data: AssessmentInput) -> Scorecard:
    """Raises AssessmentInputError naming every id or metric in `data` that the standard does not know."""
    problems = list(_input_problems(standard, data))
    if problems:
        raise AssessmentInputError(problems)
    indicators = tuple(_indicator(dimension, indicator, data) for dimension, indicator in standard.indicators())
    dimensions = tuple(DimensionScore(dimension.id, dimension.name, as_decimal(dimension.points),
                                      _sum(line.earned for line in indicators if line.dimension == dimension.id))
                       for dimension in standard.dimensions)
    bonuses = tuple(Award(bonus.id, bonus.name, as_decimal(bonus.points))
                    for bonus in standard.bonuses if bonus.id in data.bonuses)
    bonus_points = min(_sum(bonus.points for bonus in bonuses), as_decimal(standard.bonus_cap))
    possible = as_decimal(standard.total)
    total = min(_sum(line.earned for line in indicators) + bonus_points, possible).quantize(TENTH, ROUND_HALF_UP)
    vetoes = tuple(VetoFound(veto.id, veto.name) for veto in standard.vetoes if veto.id in data.vetoes)
    grade = standard.grades[-1] if vetoes else next(grade for grade in standard.grades
                                                     if total >= as_decimal(grade.min))
    return Scorecard(standard_code=standard.code, standard_version=standard.version, standard_title=standard.title,
                     standard_hash=standard.content_hash, canteen=data.canteen, period=data.period,
                     indicators=indicators, dimensions=dimensions, bonuses=bonuses, bonus_points=bonus_points,
                     vetoes=vetoes, possible=possible, total=total, grade=grade.name)


def _sum(values: Iterator[Decimal]) -> Decimal:
    return sum(values, Decimal(0))


def _input_problems(standard: Standard, data: AssessmentInput) -> Iterator[str]:
    for name in data.metrics:
        if name not in METRICS:
            yield f"metrics.{name}: unknown metric; known metrics: {', '.join(METRICS)}"
    named = f"{standard.code} {standard.version}"
    indicators = {indicator.id: indicator for _, indicator in standard.indicators()}
    for id_, answers in data.checklist.items():
        indicator = indicators.get(id_)
        if indicator is None:
            yield f"checklist.{id_}: {named} has no indicator {id_}"
        elif not isinstance(indicator, ChecklistIndicator):
            yield f"checklist.{id_}: {id_} is scored from the metric {indicator.metric}, not from a checklist answer"
        else:
            yield from _answer_problems(indicator, answers)
    for kind, word, given, known in (("vetoes", "veto", data.vetoes, standard.vetoes),
                                     ("bonuses", "bonus", data.bonuses, standard.bonuses)):
        unknown = [id_ for id_ in given if id_ not in {item.id for item in known}]
        if unknown:
            yield f"{kind}: {named} has no {word} {', '.join(unknown)}"


def _answer_problems(indicator: ChecklistIndicator, answers: Sequence[ChecklistAnswer]) -> Iterator[str]:
    sources = [answer.by for answer in answers]
    for by in dict.fromkeys(sources):
        if sources.count(by) > 1:
            yield f"checklist.{indicator.id}: more than one answer by {by}"
        if by not in indicator.evidence:
            yield (f"checklist.{indicator.id}: an answer by {by} is not evidence for this indicator "
                   f"(it takes {', '.join(indicator.evidence)})")


def _indicator(dimension: Dimension, indicator: Indicator, data: AssessmentInput) -> IndicatorScore:
    points = as_decimal(indicator.points)
    value = given = None
    if isinstance(indicator, ChecklistIndicator):
        given = _answer_used(data.checklist.get(indicator.id, ()))
        earned, reason = _no_data(indicator, points) if given is None else _checklist(indicator, points, given)
    else:
        value = data.metrics.get(indicator.metric)
        if value is None:
            earned, reason = _no_data(indicator, points)
        elif isinstance(indicator, LinearIndicator):
            earned, reason = _linear(indicator, points, value)
        else:
            earned, reason = _bands(indicator, value)
    earned = earned.quantize(CENT, ROUND_HALF_UP)
    lost = points - earned
    return IndicatorScore(id=indicator.id, name=indicator.name, dimension=dimension.id, method=indicator.method,
                          points=points, earned=earned, lost=lost, metric=getattr(indicator, "metric", None),
                          value=value, answer=given.answer if given else None,
                          answered_by=given.by if given else None, note=given.note if given else None,
                          reason=reason if lost > 0 else None)


def _answer_used(answers: Sequence[ChecklistAnswer]) -> ChecklistAnswer | None:
    """An inspection answer, where there is one, overrides the self-evaluation."""
    return next((answer for answer in answers if answer.by == "inspection"), answers[0] if answers else None)


def _no_data(indicator: Indicator, points: Decimal) -> tuple[Decimal, Reason]:
    metric = getattr(indicator, "metric", None)
    return (points if indicator.no_data == "full" else Decimal(0),
            Reason("no_data", {"metric": metric} if metric else {}, NO_DATA_TEXT))


def _checklist(indicator: ChecklistIndicator, points: Decimal, given: ChecklistAnswer) -> tuple[Decimal, Reason]:
    earned = {"met": points, "partly": points * as_decimal(indicator.partial), "not_met": Decimal(0)}[given.answer]
    text = f"{EVIDENCE_TEXT[given.by]}：{ANSWER_TEXT[given.answer]}" + (f"（{given.note}）" if given.note else "")
    return earned, Reason("checklist", {"answer": given.answer, "by": given.by, "note": given.note}, text)


def _linear(indicator: LinearIndicator, points: Decimal, value: float) -> tuple[Decimal, Reason]:
    full, zero, x = as_decimal(indicator.full_at), as_decimal(indicator.zero_at), as_decimal(value)
    share = min(max((zero - x) / (zero - full), Decimal(0)), Decimal(1))
    metric = indicator.metric
    side = "高于" if full < zero else "低于"
    text = (f"{_value_text(metric, value)}，{side}满分线 {_threshold(metric, indicator.full_at)}"
            f"（0 分线 {_threshold(metric, indicator.zero_at)}）")
    params = {"metric": metric, "value": value, "method": "linear",
              "full_at": indicator.full_at, "zero_at": indicator.zero_at}
    return points * share, Reason("metric_rule", params, text)


def _bands(indicator: BandsIndicator, value: float) -> tuple[Decimal, Reason]:
    metric, bands = indicator.metric, indicator.bands
    band = next((band for band in bands if band.holds(as_decimal(value))), None)
    if band is None:
        text = f"{_value_text(metric, value)}，未达到最低档 {_band_text(metric, bands[-1])}"
    else:
        text = (f"{_value_text(metric, value)}，适用档 {_band_text(metric, band)}（{plain(band.points)} 分），"
                f"最高档 {_band_text(metric, bands[0])}（{plain(bands[0].points)} 分）")
    params = {"metric": metric, "value": value, "method": "bands",
              "band": None if band is None else band.model_dump(exclude_none=True),
              "bands": [item.model_dump(exclude_none=True) for item in bands]}
    return Decimal(0) if band is None else as_decimal(band.points), Reason("metric_rule", params, text)


def _threshold(metric: str, value: float) -> str:
    info = METRICS[metric]
    if info.unit != "%":
        return plain(value)
    return f"{plain(as_decimal(value) * 100 if info.fraction else value)}%"


def _value_text(metric: str, value: float) -> str:
    info = METRICS[metric]
    shown = _threshold(metric, value)
    return f"{info.label} {shown}" if info.unit == "%" else f"{info.label} {shown} {info.unit}"


def _band_text(metric: str, band: Band) -> str:
    return ("≥" if band.bound == "at_least" else "≤") + _threshold(metric, getattr(band, band.bound))


def _json_safe(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dict):
        return {key: _json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(item) for item in value]
    return value
