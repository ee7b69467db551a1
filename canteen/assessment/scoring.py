"""The scoring engine: a standard and one canteen's metrics, checklist answers, vetoes and bonuses -> a scorecard.

Pure and deterministic. Numbers are taken at their decimal face value, so a score computed by hand
matches to the digit: indicators keep two decimals and the total one, both rounded half-up.
"""
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated, Any, Literal, NamedTuple

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

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "params": _json_safe(self.params), "text": self.text}


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

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "dimension": self.dimension, "method": self.method,
                "points": float(self.points), "earned": float(self.earned), "lost": float(self.lost),
                "metric": self.metric, "value": self.value, "answer": self.answer, "answered_by": self.answered_by,
                "note": self.note, "reason": None if self.reason is None else self.reason.to_dict()}


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

    def to_dict(self, line_dict: Callable[[IndicatorScore], dict[str, Any]] = IndicatorScore.to_dict,
                ) -> dict[str, Any]:
        """JSON-safe, decimals as floats: what dataclasses.asdict would give, built field by field (a scorecard
        body is ~300 values and a province computes 5,000 of them at once); `line_dict` makes each line's."""
        return {"standard_code": self.standard_code, "standard_version": self.standard_version,
                "standard_title": self.standard_title, "standard_hash": self.standard_hash,
                "canteen": self.canteen, "period": self.period,
                "indicators": [line_dict(line) for line in self.indicators],
                "dimensions": [{"id": item.id, "name": item.name, "points": float(item.points),
                                "earned": float(item.earned)} for item in self.dimensions],
                "bonuses": [{"id": item.id, "name": item.name, "points": float(item.points)}
                            for item in self.bonuses],
                "bonus_points": float(self.bonus_points),
                "vetoes": [{"id": item.id, "name": item.name} for item in self.vetoes],
                "possible": float(self.possible), "total": float(self.total), "grade": self.grade}


def score(standard: Standard, data: AssessmentInput) -> Scorecard:
    """Raises AssessmentInputError naming every id or metric in `data` that the standard does not know."""
    return Scorer(standard).score(data)


class Scorer:
    """A standard made ready to score many canteens: its numbers as decimals and its rules' fixed texts and
    parameters worked out once, not once per canteen; the lines that come out the same for many canteens (no
    data, a checklist answer) made once too, each shared by the scorecards that have it."""

    def __init__(self, standard: Standard) -> None:
        self.standard = standard
        # id of a kept line -> its dict; the rules keep those lines for the scorer's life, so the ids stay theirs
        self._kept: dict[int, dict[str, Any]] = {}
        self._rules = tuple(_rule(dimension, indicator, self._kept) for dimension, indicator in standard.indicators())
        self._indicators = {indicator.id: indicator for _, indicator in standard.indicators()}
        self.evidence = {indicator.id: indicator.evidence for indicator in self._indicators.values()
                         if isinstance(indicator, ChecklistIndicator)}
        self.veto_ids = frozenset(veto.id for veto in standard.vetoes)
        self.bonus_ids = frozenset(bonus.id for bonus in standard.bonuses)
        self._dimensions = tuple((dimension, as_decimal(dimension.points)) for dimension in standard.dimensions)
        self._bonuses = tuple((bonus, as_decimal(bonus.points)) for bonus in standard.bonuses)
        self._bonus_cap, self._possible = as_decimal(standard.bonus_cap), as_decimal(standard.total)
        self._grades = tuple((as_decimal(grade.min), grade) for grade in standard.grades)

    def score(self, data: AssessmentInput) -> Scorecard:
        """Raises AssessmentInputError naming every id or metric in `data` that the standard does not know."""
        problems = list(self._problems(data))
        if problems:
            raise AssessmentInputError(problems)
        indicators = tuple(rule.score(data) for rule in self._rules)
        earned = {dimension.id: Decimal(0) for dimension, _ in self._dimensions}
        for line in indicators:
            earned[line.dimension] += line.earned
        dimensions = tuple(DimensionScore(dimension.id, dimension.name, points, earned[dimension.id])
                           for dimension, points in self._dimensions)
        bonuses = tuple(Award(bonus.id, bonus.name, points) for bonus, points in self._bonuses
                        if bonus.id in data.bonuses)
        bonus_points = min(_sum(bonus.points for bonus in bonuses), self._bonus_cap)
        total = min(_sum(line.earned for line in indicators) + bonus_points,
                    self._possible).quantize(TENTH, ROUND_HALF_UP)
        standard = self.standard
        vetoes = tuple(VetoFound(veto.id, veto.name) for veto in standard.vetoes if veto.id in data.vetoes)
        grade = standard.grades[-1] if vetoes else next(grade for least, grade in self._grades if total >= least)
        return Scorecard(standard_code=standard.code, standard_version=standard.version,
                         standard_title=standard.title, standard_hash=standard.content_hash, canteen=data.canteen,
                         period=data.period, indicators=indicators, dimensions=dimensions, bonuses=bonuses,
                         bonus_points=bonus_points, vetoes=vetoes, possible=self._possible, total=total,
                         grade=grade.name)

    def body(self, card: Scorecard) -> dict[str, Any]:
        """`card.to_dict()` for writing at once (a province's bodies, each dumped to JSON as it is made): the
        dicts of the shared lines are shared too, so the result is not to be changed."""
        return card.to_dict(lambda line: self._kept.get(id(line)) or line.to_dict())

    def _problems(self, data: AssessmentInput) -> Iterator[str]:
        for name in data.metrics:
            if name not in METRICS:
                yield f"metrics.{name}: unknown metric; known metrics: {', '.join(METRICS)}"
        named = f"{self.standard.code} {self.standard.version}"
        for id_, answers in data.checklist.items():
            indicator = self._indicators.get(id_)
            if indicator is None:
                yield f"checklist.{id_}: {named} has no indicator {id_}"
            elif not isinstance(indicator, ChecklistIndicator):
                yield (f"checklist.{id_}: {id_} is scored from the metric {indicator.metric}, "
                       "not from a checklist answer")
            else:
                yield from _answer_problems(indicator, answers)
        for kind, word, given, known in (("vetoes", "veto", data.vetoes, self.veto_ids),
                                         ("bonuses", "bonus", data.bonuses, self.bonus_ids)):
            unknown = [id_ for id_ in given if id_ not in known]
            if unknown:
                yield f"{kind}: {named} has no {word} {', '.join(unknown)}"


def _sum(values: Iterator[Decimal]) -> Decimal:
    return sum(values, Decimal(0))


def _answer_problems(indicator: ChecklistIndicator, answers: Sequence[ChecklistAnswer]) -> Iterator[str]:
    if len(answers) == 1 and answers[0].by in indicator.evidence:
        return  # the usual case, checked quickly
    sources = [answer.by for answer in answers]
    for by in dict.fromkeys(sources):
        if sources.count(by) > 1:
            yield f"checklist.{indicator.id}: more than one answer by {by}"
        if by not in indicator.evidence:
            yield (f"checklist.{indicator.id}: an answer by {by} is not evidence for this indicator "
                   f"(it takes {', '.join(indicator.evidence)})")


class _Rule:
    """One indicator's rule; the reason is only worded when points were lost."""

    def __init__(self, dimension: Dimension, indicator: Indicator, kept: dict[int, dict[str, Any]]) -> None:
        self.dimension, self.indicator = dimension.id, indicator
        self.points = as_decimal(indicator.points)
        self.metric: str | None = getattr(indicator, "metric", None)
        self._kept = kept
        no_data = self.points if indicator.no_data == "full" else Decimal(0)
        self.no_data = self._keep(self._line(no_data, self._no_data_reason, None))

    def score(self, data: AssessmentInput) -> IndicatorScore:
        value = data.metrics.get(self.metric) if self.metric else None
        if value is None:
            return self.no_data
        return self._line(self._earned(value), lambda: self._reason(value), value)

    def _keep(self, line: IndicatorScore) -> IndicatorScore:
        """A line that comes out the same for many canteens, made once, and its dict (see Scorer.body)."""
        self._kept[id(line)] = line.to_dict()
        return line

    def _earned(self, value: float) -> Decimal:
        raise NotImplementedError

    def _reason(self, value: float) -> Reason:
        raise NotImplementedError

    def _no_data_reason(self) -> Reason:
        return Reason("no_data", {"metric": self.metric} if self.metric else {}, NO_DATA_TEXT)

    def _line(self, earned: Decimal, reason: Callable[[], Reason], value: float | None,
              given: ChecklistAnswer | None = None) -> IndicatorScore:
        indicator = self.indicator
        earned = earned.quantize(CENT, ROUND_HALF_UP)
        lost = self.points - earned
        return IndicatorScore(id=indicator.id, name=indicator.name, dimension=self.dimension,
                              method=indicator.method, points=self.points, earned=earned, lost=lost,
                              metric=self.metric, value=value, answer=given.answer if given else None,
                              answered_by=given.by if given else None, note=given.note if given else None,
                              reason=reason() if lost > 0 else None)


class _LinearRule(_Rule):
    def __init__(self, dimension: Dimension, indicator: LinearIndicator, kept: dict[int, dict[str, Any]]) -> None:
        super().__init__(dimension, indicator, kept)
        self.full, self.zero = as_decimal(indicator.full_at), as_decimal(indicator.zero_at)
        self.span = self.zero - self.full
        metric, side = indicator.metric, "高于" if self.full < self.zero else "低于"
        self.full_at, self.zero_at = indicator.full_at, indicator.zero_at
        self.lines = (f"，{side}满分线 {_threshold(metric, indicator.full_at)}"
                      f"（0 分线 {_threshold(metric, indicator.zero_at)}）")

    def _earned(self, value: float) -> Decimal:
        return self.points * min(max((self.zero - as_decimal(value)) / self.span, Decimal(0)), Decimal(1))

    def _reason(self, value: float) -> Reason:
        assert self.metric is not None
        params = {"metric": self.metric, "value": value, "method": "linear",
                  "full_at": self.full_at, "zero_at": self.zero_at}
        return Reason("metric_rule", params, _value_text(self.metric, value) + self.lines)


class _Band(NamedTuple):
    at_least: bool  # else at most
    bound: Decimal
    points: Decimal
    params: dict[str, float]
    text: str  # how the reason goes on after the value when this band applies


class _BandsRule(_Rule):
    def __init__(self, dimension: Dimension, indicator: BandsIndicator, kept: dict[int, dict[str, Any]]) -> None:
        super().__init__(dimension, indicator, kept)
        metric, bands = indicator.metric, indicator.bands
        top = f"，最高档 {_band_text(metric, bands[0])}（{plain(bands[0].points)} 分）"
        self.bands = tuple(_Band(band.bound == "at_least", as_decimal(getattr(band, band.bound)),
                                 as_decimal(band.points), band.model_dump(exclude_none=True),
                                 f"，适用档 {_band_text(metric, band)}（{plain(band.points)} 分）{top}")
                           for band in bands)
        self.below = f"，未达到最低档 {_band_text(metric, bands[-1])}"

    def _band(self, value: float) -> _Band | None:
        """The first band that holds."""
        x = as_decimal(value)
        return next((band for band in self.bands if (x >= band.bound if band.at_least else x <= band.bound)), None)

    def _earned(self, value: float) -> Decimal:
        band = self._band(value)
        return Decimal(0) if band is None else band.points

    def _reason(self, value: float) -> Reason:
        assert self.metric is not None
        band = self._band(value)
        params = {"metric": self.metric, "value": value, "method": "bands",
                  "band": None if band is None else dict(band.params),
                  "bands": [dict(item.params) for item in self.bands]}
        text = _value_text(self.metric, value) + (self.below if band is None else band.text)
        return Reason("metric_rule", params, text)


class _ChecklistRule(_Rule):
    def __init__(self, dimension: Dimension, indicator: ChecklistIndicator, kept: dict[int, dict[str, Any]]) -> None:
        super().__init__(dimension, indicator, kept)
        self.earns = {"met": self.points, "partly": self.points * as_decimal(indicator.partial),
                      "not_met": Decimal(0)}
        self._answered: dict[tuple[str, str, str | None], IndicatorScore] = {}  # by (answer, by, note)

    def score(self, data: AssessmentInput) -> IndicatorScore:
        given = _answer_used(data.checklist.get(self.indicator.id, ()))
        if given is None:
            return self.no_data
        key = (given.answer, given.by, given.note)
        line = self._answered.get(key)
        if line is None:
            line = self._answered[key] = self._keep(self._line(self.earns[given.answer],
                                                               lambda: _checklist_reason(given), None, given))
        return line


def _rule(dimension: Dimension, indicator: Indicator, kept: dict[int, dict[str, Any]]) -> _Rule:
    if isinstance(indicator, LinearIndicator):
        return _LinearRule(dimension, indicator, kept)
    if isinstance(indicator, BandsIndicator):
        return _BandsRule(dimension, indicator, kept)
    return _ChecklistRule(dimension, indicator, kept)


def _answer_used(answers: Sequence[ChecklistAnswer]) -> ChecklistAnswer | None:
    """An inspection answer, where there is one, overrides the self-evaluation."""
    return next((answer for answer in answers if answer.by == "inspection"), answers[0] if answers else None)


def _checklist_reason(given: ChecklistAnswer) -> Reason:
    text = f"{EVIDENCE_TEXT[given.by]}：{ANSWER_TEXT[given.answer]}" + (f"（{given.note}）" if given.note else "")
    return Reason("checklist", {"answer": given.answer, "by": given.by, "note": given.note}, text)


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
