"""Standards a bureau loads and chooses, and scorecards: every canteen scored from its data and evidence."""
import gc
import json
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import defer
from sqlmodel import Session, col, func, select

from canteen.access import Role, Scope
from canteen.assessment import metrics as metrics_module
from canteen.assessment.models import (
    AssessmentStandard,
    BonusAward,
    Evaluation,
    EvaluationAnswer,
    EvaluationKind,
    EvaluationStatus,
    Scorecard,
    ScorecardKind,
    StandardChoice,
    VetoEvent,
    plate_waste_basis,
    waste_valuation,
)
from canteen.assessment.periods import Period
from canteen.assessment.scoring import AssessmentInput, Scorer
from canteen.assessment.standard import Standard, parse_standard, reference_standard
from canteen.db import orm_attribute, table_of
from canteen.errors import Forbidden, NotFound
from canteen.org import service as org_service
from canteen.org.models import Bureau, Canteen, ServingMode
from canteen.paging import PER_PAGE, Page, matching, paginate

# ---- standards ---------------------------------------------------------------


def require_bureau(scope: Scope) -> None:
    if not (scope.is_admin or scope.role is Role.bureau):
        raise Forbidden("this needs a bureau or administrator account")


def chosen_bureau(session: Session, scope: Scope, bureau_id: int | None) -> tuple[list[Bureau], int]:
    """The bureaus a bureau page may show, and the one it shows: the asked one, else the first."""
    require_bureau(scope)
    bureaus = org_service.list_bureaus(session, scope)
    if not bureaus:
        raise NotFound("no bureau has been set up yet")
    chosen = bureau_id or bureaus[0].id
    assert chosen is not None  # a listed bureau has its id
    return bureaus, chosen


def register_standard(session: Session, source: str | bytes, now: datetime, loaded_by: int | None = None,
                      name: str = "<standard>") -> AssessmentStandard:
    """Store a standard file once (by its hash); raises StandardFileError naming each mistake's line and field."""
    standard = parse_standard(source, name)
    found = session.exec(select(AssessmentStandard).where(
        AssessmentStandard.content_hash == standard.content_hash)).first()
    if found is not None:
        return found
    row = AssessmentStandard(code=standard.code, version=standard.version, title=standard.title,
                             content_hash=standard.content_hash, source=standard.text, loaded_by=loaded_by,
                             loaded_at=now)
    session.add(row)
    session.flush()
    return row


def reference_row(session: Session, now: datetime) -> AssessmentStandard:
    return register_standard(session, reference_standard().text, now, name="reference.toml")


def load_standard(session: Session, scope: Scope, source: str | bytes, name: str, now: datetime) -> AssessmentStandard:
    require_bureau(scope)
    return register_standard(session, source, now, scope.user_id or None, name)


def list_standards(session: Session) -> list[AssessmentStandard]:
    return list(session.exec(select(AssessmentStandard).order_by(AssessmentStandard.code,
                                                                 col(AssessmentStandard.loaded_at).desc())))


def choose_standard(session: Session, scope: Scope, bureau_id: int, standard_id: int, effective_from: date,
                    now: datetime) -> StandardChoice:
    """From `effective_from`, the bureau's canteens (and those below without their own choice) use this standard."""
    require_bureau(scope)
    org_service.get_bureau(session, scope, bureau_id)
    if session.get(AssessmentStandard, standard_id) is None:
        raise NotFound("standard {id} not found", field="standard_id", id=standard_id)
    choice = session.get(StandardChoice, (bureau_id, effective_from)) or StandardChoice(
        bureau_id=bureau_id, effective_from=effective_from, standard_id=standard_id, chosen_at=now)
    choice.standard_id, choice.chosen_by, choice.chosen_at = standard_id, scope.user_id or None, now
    session.add(choice)
    session.flush()
    return choice


@lru_cache(maxsize=32)
def _parsed(content_hash: str, source: str) -> Standard:
    return parse_standard(source)


def parsed(row: AssessmentStandard) -> Standard:
    return _parsed(row.content_hash, row.source)


def standard_of(session: Session, standard_id: int) -> Standard:
    """A loaded standard, parsed; an unknown id is not found."""
    row = session.get(AssessmentStandard, standard_id)
    if row is None:
        raise NotFound("standard {id} not found", field="standard_id", id=standard_id)
    return parsed(row)


def canteen_scorecards(session: Session, canteen_id: int) -> list[Any]:
    """The canteen's scorecards without their bodies, newest first, a quarter before its last month."""
    # sqlmodel's select() is typed for at most 4 columns
    return list(session.exec(select(Scorecard.id, Scorecard.kind, Scorecard.period, Scorecard.total, Scorecard.grade,  # type: ignore[call-overload]
                                    Scorecard.vetoed)
                             .where(Scorecard.canteen_id == canteen_id)
                             .order_by(col(Scorecard.ends).desc(), col(Scorecard.kind).desc())))


def failed(session: Session, card: Scorecard) -> bool:
    """Graded lowest under the standard that produced the scorecard (不合格 in the reference standard)."""
    standard = session.get(AssessmentStandard, card.standard_id)
    assert standard is not None  # a scorecard's standard stays (foreign key)
    return card.grade == parsed(standard).grades[-1].name


def standards_for(session: Session, canteens: list[Canteen], on: date, now: datetime) -> dict[int, AssessmentStandard]:
    """Per canteen, the standard of the nearest bureau above it with a choice in force on `on`; else the reference."""
    bureaus = {bureau.id: bureau for bureau in session.exec(select(Bureau))}
    choices: dict[int, int] = {}
    for choice in session.exec(select(StandardChoice).where(StandardChoice.effective_from <= on)
                               .order_by(col(StandardChoice.effective_from))):
        choices[choice.bureau_id] = choice.standard_id  # the latest in force wins
    rows = {row.id: row for row in session.exec(select(AssessmentStandard).where(
        col(AssessmentStandard.id).in_(set(choices.values()))))}
    fallback = None
    chosen = {}
    for canteen in canteens:
        assert canteen.id is not None
        path = [int(part) for part in bureaus[canteen.bureau_id].path.strip("/").split("/")]
        picked = next((choices[bureau_id] for bureau_id in reversed(path) if bureau_id in choices), None)
        if picked is None:
            fallback = fallback or reference_row(session, now)
            chosen[canteen.id] = fallback
        else:
            chosen[canteen.id] = rows[picked]
    return chosen


# ---- scorecards --------------------------------------------------------------


def _end_of(day: date) -> datetime:
    return datetime.combine(day, time.max, UTC)


def _answers(session: Session, canteen_ids: list[int],
             period: Period) -> dict[int, dict[str, list[tuple[str, str, str | None]]]]:
    """Submitted checklist answers per canteen and indicator as (by, answer, note), self and inspection.

    A quarter uses that quarter's evaluations; a month carries the latest submitted ones up to its end (the
    rules and measures a canteen has in place do not change month by month). One query for all the canteens:
    the latest evaluation of each kind picked in the database, with its answers.
    """
    newest_first = func.row_number().over(partition_by=(col(Evaluation.canteen_id), col(Evaluation.kind)),
                                          order_by=(col(Evaluation.submitted_at).desc(), col(Evaluation.id).desc()))
    evaluations = select(col(Evaluation.id), newest_first.label("rank")).where(
        metrics_module.among(Evaluation.canteen_id, canteen_ids), Evaluation.status == EvaluationStatus.submitted)
    if period.kind is ScorecardKind.quarterly:
        evaluations = evaluations.where(Evaluation.period == period.name)
    else:
        evaluations = evaluations.where(col(Evaluation.submitted_at) <= _end_of(period.ends))
    latest = evaluations.subquery()
    kind = sa.type_coerce(Evaluation.kind, sa.String)  # the word itself: no enum made for each of 45,000 answers
    query = (select(Evaluation.canteen_id, kind, EvaluationAnswer.indicator_id,  # type: ignore[call-overload]  # sqlmodel's select() types at most 4 columns
                    EvaluationAnswer.answer, EvaluationAnswer.note)
             .join(latest, latest.c.id == Evaluation.id)
             .join(EvaluationAnswer, col(EvaluationAnswer.evaluation_id) == Evaluation.id)
             .where(latest.c.rank == 1))
    answers: dict[int, dict[str, list[tuple[str, str, str | None]]]] = defaultdict(lambda: defaultdict(list))
    for canteen_id, by, indicator_id, answer, note in session.exec(query):
        answers[canteen_id][indicator_id].append((by, answer, note or None))
    return answers


def _events(session: Session, model, id_field: str, day_field: str, canteen_ids: list[int],
            period: Period) -> dict[int, set[str]]:
    found: dict[int, set[str]] = defaultdict(set)
    day = getattr(model, day_field)
    for canteen_id, item in session.exec(select(model.canteen_id, getattr(model, id_field)).where(
            metrics_module.among(model.canteen_id, canteen_ids), day >= period.starts, day <= period.ends)):
        found[canteen_id].add(item)
    return found


def _input(scorer: Scorer, canteen: Canteen, period_name: str, metric_values: dict[str, float | None],
           answers: dict[str, list[tuple[str, str, str | None]]], vetoes: set[str],
           bonuses: set[str]) -> AssessmentInput:
    """What the engine scores; evidence the canteen's standard does not take is left out, not refused."""
    checklist = {}
    for indicator_id, given in answers.items():
        evidence = scorer.evidence.get(indicator_id, ())
        taken = [{"answer": answer, "by": by, "note": note} for by, answer, note in given if by in evidence]
        if taken:
            checklist[indicator_id] = taken
    # validated in one call (not an object per answer): it is done for every canteen of a province
    return AssessmentInput.model_validate({
        "canteen": canteen.name, "period": period_name, "metrics": metric_values, "checklist": checklist,
        "vetoes": tuple(sorted(vetoes & scorer.veto_ids)), "bonuses": tuple(sorted(bonuses & scorer.bonus_ids))})


# Canteens scored together, with a few grouped queries for each chunk: what is held at once is a chunk's inputs and
# bodies, not a province's (~40 MB of JSON for 5,000); the extra queries cost nothing measurable at 5,000.
CHUNK = 1000


def compute_scorecards(session: Session, period: Period, now: datetime,
                       canteen_ids: list[int] | None = None) -> list[Scorecard]:
    """Score every canteen (or the given ones) for the period and replace their scorecards of that period.

    Built for a province (5,000 canteens within seconds): a few grouped queries for a chunk of canteens at a
    time, each standard prepared for scoring once, the bodies made as JSON text and stored in one executemany
    upsert per chunk.
    """
    query = select(Canteen).order_by(col(Canteen.id))
    if canteen_ids is not None:
        query = query.where(col(Canteen.id).in_(canteen_ids))
    canteens = list(session.exec(query))
    if not canteens:
        return []
    standards = standards_for(session, canteens, period.ends, now)
    in_use = {row.id: row for row in standards.values()}
    scorers = {standard_id: Scorer(parsed(row)) for standard_id, row in in_use.items()}
    cards = []
    with _earlier_objects_left_alone():
        for start in range(0, len(canteens), CHUNK):
            cards += _score_chunk(session, period, now, canteens[start:start + CHUNK], standards, scorers)
    return cards


@contextmanager
def _earlier_objects_left_alone() -> Iterator[None]:
    """The garbage collector's full passes skip the objects that were there before (gc.freeze) while a province
    is scored: its allocations set off a few, and each walked the whole process (modules, the ORM's registries),
    a sixth of a 5,000-canteen run. Nothing is changed when something froze objects already (a pre-fork server)."""
    if gc.get_freeze_count():
        yield
        return
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def _score_chunk(session: Session, period: Period, now: datetime, canteens: list[Canteen],
                 standards: dict[int, AssessmentStandard], scorers: dict[int | None, Scorer]) -> list[Scorecard]:
    ids = [canteen.id for canteen in canteens if canteen.id is not None]
    values = metrics_module.period_metrics(session, ids, period.starts, period.ends,
                                           previous=(period.previous.starts, period.previous.ends))
    answers = _answers(session, ids, period)
    vetoes = _events(session, VetoEvent, "veto_id", "occurred_on", ids, period)
    bonuses = _events(session, BonusAward, "bonus_id", "awarded_on", ids, period)
    rows, name = [], period.name
    for canteen in canteens:
        assert canteen.id is not None
        standard = standards[canteen.id]
        scorer, canteen_metrics = scorers[standard.id], values.get(canteen.id, {})
        result = scorer.score(_input(scorer, canteen, name, metrics_module.to_input(canteen_metrics),
                                     answers.get(canteen.id, {}), vetoes.get(canteen.id, set()),
                                     bonuses.get(canteen.id, set())))
        body = scorer.body(result) | {"metrics": metrics_module.basis_dict(canteen_metrics)}
        grams, diners = plate_waste_basis(body)
        waste_g, waste_yuan, waste_co2e_kg = waste_valuation(body)
        rows.append({"canteen_id": canteen.id, "kind": period.kind, "period": name, "starts": period.starts,
                     "ends": period.ends, "standard_id": standard.id, "total": float(result.total),
                     "grade": result.grade, "vetoed": bool(result.vetoes), "body": json.dumps(body),
                     "computed_at": now, "plate_waste_g": grams, "diners": diners, "waste_g": waste_g,
                     "waste_yuan": waste_yuan, "waste_co2e_kg": waste_co2e_kg})
    return _store(session, period, rows)


class _JSONText(sa.TypeDecorator):
    """A JSON column's values given as the JSON text already made."""

    impl = sa.JSON
    cache_ok = True

    def bind_processor(self, dialect: sa.Dialect) -> None:
        return None


def _store(session: Session, period: Period, rows: list[dict[str, Any]]) -> list[Scorecard]:
    """Insert or replace (by canteen, kind and period) the scorecards in one executemany; the stored ones, by
    canteen, their bodies left to load when read (decoding 5,000 just written would double the time).

    The bodies come as JSON text, each made as soon as its scorecard was scored: 5,000 bodies held as ~1.5
    million dicts and lists until the insert kept the garbage collector busy for a third of the run. The text is
    what the JSON column writes itself (json.dumps), so the rows are the same as through the ORM. Replacing in
    place keeps a scorecard's id, so a rectification notice issued on it still points at it.
    """
    scorecard = table_of(Scorecard)
    table = sa.table(scorecard.name, *(sa.column(column.name, _JSONText() if column.name == "body" else column.type)
                                       for column in scorecard.columns))
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(table)
    key = ("canteen_id", "kind", "period")
    session.execute(statement.on_conflict_do_update(
        index_elements=list(key), set_={name: statement.excluded[name] for name in rows[0] if name not in key}), rows)
    cards = list(session.exec(
        select(Scorecard).where(Scorecard.kind == period.kind, Scorecard.period == period.name,
                                metrics_module.among(Scorecard.canteen_id, [row["canteen_id"] for row in rows]))
        .order_by(col(Scorecard.canteen_id)).options(defer(orm_attribute(Scorecard.body)))
        .execution_options(populate_existing=True)))
    for card in cards:
        if "body" in card.__dict__:  # read in this session before: read anew when asked
            session.expire(card, ["body"])
    return cards


def scorecards(session: Session, scope: Scope, period: Period,
               bureau_id: int | None = None) -> list[tuple[Scorecard, Canteen]]:
    query = (select(Scorecard, Canteen).join(Canteen, col(Canteen.id) == Scorecard.canteen_id)
             .where(Scorecard.kind == period.kind, Scorecard.period == period.name, org_service.canteen_filter(scope)))
    if bureau_id is not None:
        bureau = org_service.get_bureau(session, scope, bureau_id)
        query = query.join(Bureau, col(Bureau.id) == Canteen.bureau_id).where(col(Bureau.path).startswith(bureau.path))
    return list(session.exec(query.order_by(col(Scorecard.total).desc(), Canteen.name)))


def get_scorecard(session: Session, scope: Scope, scorecard_id: int) -> tuple[Scorecard, Canteen]:
    found = session.exec(select(Scorecard, Canteen).join(Canteen, col(Canteen.id) == Scorecard.canteen_id)
                         .where(Scorecard.id == scorecard_id, org_service.canteen_filter(scope))).first()
    if found is None:
        raise NotFound("scorecard {id} not found", field="scorecard_id", id=scorecard_id)
    return found


def ranks(session: Session, scorecard: Scorecard, canteen: Canteen) -> dict[str, tuple[int, int]]:
    """Rank (1 = best) and count among the canteens of the same city (or of the province, for a canteen the
    province supervises directly), and among those of the same serving mode there."""
    bureau = session.get(Bureau, canteen.bureau_id)
    assert bureau is not None  # a canteen's bureau exists (foreign key)
    path = bureau.path
    jurisdiction = "/".join(path.split("/")[:3]) + "/" if path.count("/") > 2 else path
    same_period = (select(Scorecard.total, Canteen.serving_mode).join(Canteen, col(Canteen.id) == Scorecard.canteen_id)
                   .join(Bureau, col(Bureau.id) == Canteen.bureau_id)
                   .where(Scorecard.kind == scorecard.kind, Scorecard.period == scorecard.period,
                          col(Bureau.path).startswith(jurisdiction)))
    rows = session.exec(same_period).all()
    mode = [total for total, serving_mode in rows if serving_mode == canteen.serving_mode]
    totals = [total for total, _ in rows]
    return {"jurisdiction": (1 + sum(total > scorecard.total for total in totals), len(totals)),
            "serving_mode": (1 + sum(total > scorecard.total for total in mode), len(mode))}


def trend(session: Session, scorecard: Scorecard, periods: int = 12) -> list[tuple[str, float, str]]:
    """The canteen's earlier scorecards of the same kind, oldest first, with this one last."""
    rows = session.exec(select(Scorecard.period, Scorecard.total, Scorecard.grade).where(
        Scorecard.canteen_id == scorecard.canteen_id, Scorecard.kind == scorecard.kind,
        Scorecard.starts <= scorecard.starts).order_by(col(Scorecard.starts).desc()).limit(periods)).all()
    return list(reversed(rows))


def grade_counts(session: Session, period: Period) -> dict[str, int]:
    """Over every canteen in the database (for the installer's benchmark and CLI, not scoped)."""
    return dict(session.exec(select(Scorecard.grade, func.count()).where(
        Scorecard.kind == period.kind, Scorecard.period == period.name).group_by(Scorecard.grade)).all())


# ---- the overview of a jurisdiction ---------------------------------------------


@dataclass(frozen=True)
class OverviewFilter:
    """Which canteens of the scope the overview and its export show, and in which order."""

    bureau_id: int | None = None  # the bureau's whole subtree
    serving_mode: ServingMode | None = None
    grade: str = ""  # a grade name of the standards in use; empty: every canteen, scored or not
    search: str = ""  # part of the canteen's name
    ascending: bool = False  # by total; canteens without a scorecard come last either way


@dataclass(frozen=True)
class CardSummary:
    """What the overview shows of a scorecard: its columns, never its body (decoding thousands is the cost)."""

    total: float
    grade: str
    vetoed: bool
    waste_g: float | None  # the period's plate and kitchen waste as scored, and its value (None: not valued)
    waste_yuan: float | None


@dataclass(frozen=True)
class Overview:
    page: Page  # of (Canteen, CardSummary | None)
    grades: dict[str, int]  # scored canteens per grade, best grade first (the grade filter left out)
    not_scored: int
    # Plate waste per diner of the scored canteens under each bureau one level below the one in view, together
    waste_by_bureau: dict[str, float]
    computed_at: datetime | None  # when the period's latest scorecard in view was computed
    # The scored canteens' waste, all of them together: grams, yuan, kg CO2e (0 when none was valued)
    waste: tuple[float, float, float]


def _overview_query(scope: Scope, period: Period, filters: OverviewFilter) -> Any:
    """The scope's canteens, each with its scorecard of the period when it has one, filtered (grade aside)."""
    query = (select(Canteen, Scorecard)
             .join(Bureau, col(Bureau.id) == Canteen.bureau_id)
             .outerjoin(Scorecard, sa.and_(col(Scorecard.canteen_id) == Canteen.id, col(Scorecard.kind) == period.kind,
                                           col(Scorecard.period) == period.name))
             .where(org_service.canteen_filter(scope)))
    if filters.serving_mode is not None:
        query = query.where(Canteen.serving_mode == filters.serving_mode)
    if filters.search.strip():
        query = query.where(matching(Canteen.name, text=filters.search))
    return query


def _in_subtree(session: Session, scope: Scope, query: Any, bureau_id: int | None) -> tuple[Any, str]:
    """The query within the chosen bureau's subtree, and the path of the bureau in view: the chosen one, else the
    user's own ("/" for an administrator, who sees every bureau)."""
    if bureau_id is None:
        return query, scope.bureau_path or "/"
    path = org_service.get_bureau(session, scope, bureau_id).path
    return query.where(col(Bureau.path).startswith(path)), path


def _grade_names(session: Session, standard_ids: list[int]) -> list[str]:
    """Grade names, best first, as the standards behind the scorecards list them."""
    names: dict[str, None] = {}
    for standard_id in sorted(standard_ids):
        for grade in standard_of(session, standard_id).grades:
            names.setdefault(grade.name)
    return list(names)


def _waste_by_bureau(session: Session, query: Any, within: str) -> dict[str, float]:
    """Grams over diners (not a mean of means), from the scorecards' bases, of the canteens under each bureau one
    level below the bureau at path `within`, in id order; canteens it supervises itself count under its own name.

    A province sees its cities, a city its counties (choosing a bureau draws the level below it): a dozen bars to
    read, not one per county of the province (and drawing a hundred bars cost more than the rest of the page).
    The sums come from the scorecards' plate_waste_g and diners columns, not from their JSON bodies (reading 5,000
    bodies took a second on PostgreSQL).
    """
    found: dict[int, tuple[float, float]] = {}
    for path, total, count in session.exec(
            query.with_only_columns(Bureau.path, func.sum(Scorecard.plate_waste_g), func.sum(Scorecard.diners))
            .group_by(Bureau.id, Bureau.path)).all():
        # "/1/5/17/" within "/1/": under bureau 5; a path equal to `within` is the bureau itself.
        below = int(path[len(within):].split("/")[0] or within.rstrip("/").rsplit("/", 1)[-1])
        before = found.get(below, (0.0, 0.0))
        found[below] = (before[0] + (total or 0), before[1] + (count or 0))
    names = dict(session.exec(select(Bureau.id, Bureau.name).where(col(Bureau.id).in_(sorted(found)))).all())
    return {names[bureau_id]: round(total / count, 1) for bureau_id, (total, count) in sorted(found.items()) if count}


def _ordered(base: Any, filters: OverviewFilter) -> Any:
    """The grade filter and the order: scored canteens by total (ties by id), then those not scored."""
    shown = base.where(Scorecard.grade == filters.grade) if filters.grade else base
    total = col(Scorecard.total).asc() if filters.ascending else col(Scorecard.total).desc()
    return shown.order_by(sa.case((col(Scorecard.id).is_not(None), 0), else_=1), total,
                          col(Canteen.id).desc() if filters.ascending else col(Canteen.id))


def _summed(groups: Sequence[Any], column: int) -> float:
    return float(sum(group[column] or 0.0 for group in groups))


def overview(session: Session, scope: Scope, period: Period, filters: OverviewFilter, page: int = 1,
             per_page: int = PER_PAGE) -> Overview:
    """One page of the scope's canteens with their scorecards of the period (the columns shown, not the bodies);
    counts and sums over all of them."""
    require_bureau(scope)
    base, within = _in_subtree(session, scope, _overview_query(scope, period, filters), filters.bureau_id)
    # One pass for every count and the waste sums: per grade and standard, with the canteens without a scorecard as
    # grade None.
    groups = session.exec(base.with_only_columns(Scorecard.grade, Scorecard.standard_id, func.count(),
                                                 func.max(Scorecard.computed_at), func.sum(Scorecard.waste_g),
                                                 func.sum(Scorecard.waste_yuan), func.sum(Scorecard.waste_co2e_kg))
                          .group_by(Scorecard.grade, Scorecard.standard_id)).all()
    counted: dict[str, int] = defaultdict(int)
    for grade, _, number, *_ in groups:
        if grade is not None:
            counted[grade] += number
    standards = sorted({standard_id for grade, standard_id, *_ in groups if grade is not None})
    columns = base.with_only_columns(Canteen, Scorecard.id, Scorecard.total, Scorecard.grade, Scorecard.vetoed,
                                     Scorecard.waste_g, Scorecard.waste_yuan)
    found = paginate(session, _ordered(columns, filters), page, per_page)
    rows = [(canteen, None if card_id is None else CardSummary(total, grade, vetoed, waste_g, waste_yuan))
            for canteen, card_id, total, grade, vetoed, waste_g, waste_yuan in found.rows]
    return Overview(page=replace(found, rows=rows),
                    grades={name: counted.get(name, 0) for name in _grade_names(session, standards)},
                    not_scored=sum(number for grade, _, number, *_ in groups if grade is None),
                    waste_by_bureau=_waste_by_bureau(session, base.where(col(Scorecard.id).is_not(None)), within),
                    computed_at=max((at for _, _, _, at, *_ in groups if at is not None), default=None),
                    waste=(_summed(groups, 4), _summed(groups, 5), _summed(groups, 6)))


def export_rows(session: Session, scope: Scope, period: Period,
                filters: OverviewFilter) -> list[tuple[str, Canteen, Scorecard]]:
    """Every scored canteen the overview's filters show (all pages), with its bureau's name, in the page's order."""
    require_bureau(scope)
    base, _ = _in_subtree(session, scope, _overview_query(scope, period, filters), filters.bureau_id)
    query = _ordered(base.where(col(Scorecard.id).is_not(None)), filters)
    return [(name, canteen, card) for canteen, card, name in session.exec(query.add_columns(Bureau.name))]


def evaluation_states(session: Session, canteen_ids: list[int],
                      quarter: Period) -> dict[tuple[int, EvaluationKind], EvaluationStatus]:
    """Per canteen and kind, whether the quarter's self-evaluation and inspection are drafts or submitted."""
    rows = session.exec(select(Evaluation.canteen_id, Evaluation.kind, Evaluation.status).where(
        col(Evaluation.canteen_id).in_(canteen_ids), Evaluation.period == quarter.name)).all()
    return {(canteen_id, EvaluationKind(kind)): EvaluationStatus(status) for canteen_id, kind, status in rows}


def scoring_day(period: Period) -> date:
    """The day the monthly assessment job scores the period: the first after it ends (see runs.previous_periods)."""
    return period.ends + timedelta(days=1)
