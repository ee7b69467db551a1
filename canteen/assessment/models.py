"""Assessment tables: standards loaded by bureaus, evidence (self-evaluations, inspections, vetoes, bonuses),
scorecards, sampling plans, bulletins and rectification notices."""
from datetime import date, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from canteen.dbtypes import UTCDateTime, enum_type


class ScorecardKind(StrEnum):
    monthly = "monthly"  # the month's data, checklist answers as last submitted by its end, the month's vetoes/bonuses
    quarterly = "quarterly"  # the quarter's data, its own self-evaluation and inspection, its vetoes and bonuses


class EvaluationKind(StrEnum):
    self = "self"  # the canteen's quarterly self-evaluation
    inspection = "inspection"  # the bureau's on-site assessment


class EvaluationStatus(StrEnum):
    draft = "draft"
    submitted = "submitted"


class BulletinStatus(StrEnum):
    draft = "draft"
    approved = "approved"
    published = "published"


class NoticeStatus(StrEnum):
    open = "open"  # waiting for the canteen's answer
    answered = "answered"  # measures submitted, waiting for the re-check (复查)
    closed = "closed"  # re-check passed
    escalated = "escalated"  # re-check failed or the canteen did not answer: up to the next level


class AssessmentStandard(SQLModel, table=True):
    """A standard file as a bureau loaded it; the text is kept so any scorecard can be re-derived."""

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=100)
    version: str = Field(max_length=40)
    title: str = Field(max_length=200)
    content_hash: str = Field(max_length=64, sa_column_kwargs={"unique": True})
    source: str = Field(sa_type=sa.Text)
    loaded_by: int | None = Field(default=None, foreign_key="user.id")
    loaded_at: datetime = Field(sa_type=UTCDateTime)


class StandardChoice(SQLModel, table=True):
    """From `effective_from` on, the bureau's canteens (and those of bureaus below without a choice of their
    own) are assessed under this standard."""

    bureau_id: int = Field(foreign_key="bureau.id", primary_key=True)
    effective_from: date = Field(primary_key=True)
    standard_id: int = Field(foreign_key="assessmentstandard.id")
    chosen_by: int | None = Field(default=None, foreign_key="user.id")
    chosen_at: datetime = Field(sa_type=UTCDateTime)


class Evaluation(SQLModel, table=True):
    """A checklist filled for a canteen and quarter: by its operator (self) or an inspector (inspection)."""

    __table_args__ = (sa.UniqueConstraint("canteen_id", "period", "kind"),)

    id: int | None = Field(default=None, primary_key=True)
    canteen_id: int = Field(foreign_key="canteen.id", index=True)
    period: str = Field(max_length=7)  # "2026-Q4"
    kind: EvaluationKind = Field(sa_type=enum_type(EvaluationKind))
    status: EvaluationStatus = Field(default=EvaluationStatus.draft, sa_type=enum_type(EvaluationStatus))
    standard_id: int = Field(foreign_key="assessmentstandard.id")
    by: int | None = Field(default=None, foreign_key="user.id")
    visited_on: date | None = None  # inspections: the day of the visit
    updated_at: datetime = Field(sa_type=UTCDateTime)
    submitted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class EvaluationAnswer(SQLModel, table=True):
    evaluation_id: int = Field(foreign_key="evaluation.id", primary_key=True, ondelete="CASCADE")
    indicator_id: str = Field(primary_key=True, max_length=40)
    answer: str = Field(max_length=10)  # met / partly / not_met
    note: str = Field(default="", max_length=2000)


class EvidenceFile(SQLModel, table=True):
    """A document or photo attached to an evaluation (optionally to one indicator) or to a rectification answer."""

    id: int | None = Field(default=None, primary_key=True)
    evaluation_id: int | None = Field(default=None, foreign_key="evaluation.id", index=True, ondelete="CASCADE")
    notice_id: int | None = Field(default=None, foreign_key="rectificationnotice.id", index=True)
    indicator_id: str | None = Field(default=None, max_length=40)
    filename: str = Field(max_length=200)
    content_type: str = Field(max_length=100)
    size: int
    sha256: str = Field(max_length=64)
    data: bytes = Field(sa_type=sa.LargeBinary)
    uploaded_by: int | None = Field(default=None, foreign_key="user.id")
    uploaded_at: datetime = Field(sa_type=UTCDateTime)


class VetoEvent(SQLModel, table=True):
    """A veto item (否决项) the bureau confirmed for a canteen on a date; it counts in the periods holding it."""

    id: int | None = Field(default=None, primary_key=True)
    canteen_id: int = Field(foreign_key="canteen.id", index=True)
    veto_id: str = Field(max_length=40)
    occurred_on: date
    note: str = Field(default="", max_length=2000)
    recorded_by: int | None = Field(default=None, foreign_key="user.id")
    recorded_at: datetime = Field(sa_type=UTCDateTime)


class BonusAward(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    canteen_id: int = Field(foreign_key="canteen.id", index=True)
    bonus_id: str = Field(max_length=40)
    awarded_on: date
    note: str = Field(default="", max_length=2000)
    recorded_by: int | None = Field(default=None, foreign_key="user.id")
    recorded_at: datetime = Field(sa_type=UTCDateTime)


class Scorecard(SQLModel, table=True):
    """One canteen's score for a period; recomputing replaces it (the same inputs give the same body)."""

    __table_args__ = (
        sa.UniqueConstraint("canteen_id", "kind", "period"),
        sa.Index("ix_scorecard_period", "kind", "period"),
    )

    id: int | None = Field(default=None, primary_key=True)
    canteen_id: int = Field(foreign_key="canteen.id")
    kind: ScorecardKind = Field(sa_type=enum_type(ScorecardKind))
    period: str = Field(max_length=7)  # "2026-10" or "2026-Q4"
    starts: date
    ends: date  # inclusive
    standard_id: int = Field(foreign_key="assessmentstandard.id")
    total: float
    grade: str = Field(max_length=40)
    vetoed: bool = False
    # The engine's scorecard (every indicator with points, reasons, evidence) and the metrics' numbers behind it.
    body: dict[str, Any] = Field(sa_type=sa.JSON)
    computed_at: datetime = Field(sa_type=UTCDateTime)
    # The plate-waste basis of the body (grams and diners of the period), kept beside it so a jurisdiction's
    # waste is summed from columns, not by reading thousands of bodies; see plate_waste_basis.
    plate_waste_g: float | None = None
    diners: float | None = None
    # The period's plate and kitchen waste, and what it stood for with the factors in force when it was scored
    # (from the body's waste_cost_yuan_per_diner basis; see waste_valuation): the overview sums these.
    waste_g: float | None = None
    waste_yuan: float | None = None
    waste_co2e_kg: float | None = None


WASTE_BASIS = ("metrics", "plate_waste_g_per_diner", "basis")
VALUATION_BASIS = ("metrics", "waste_cost_yuan_per_diner", "basis")


def _basis(body: dict[str, Any], path: tuple[str, ...]) -> dict[str, Any]:
    basis: Any = body
    for key in path:
        basis = basis.get(key) if isinstance(basis, dict) else None
    return basis if isinstance(basis, dict) else {}


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def plate_waste_basis(body: dict[str, Any]) -> tuple[float | None, float | None]:
    """(grams, diners) of a scorecard body's plate-waste basis; None where the body has none."""
    basis = _basis(body, WASTE_BASIS)
    return _number(basis.get("plate_waste_g")), _number(basis.get("diners"))


def waste_valuation(body: dict[str, Any]) -> tuple[float | None, float | None, float | None]:
    """(grams of plate and kitchen waste, yuan, kg CO2e) of a scorecard body; None where the body has none."""
    basis = _basis(body, VALUATION_BASIS)
    plate, kitchen = _number(basis.get("plate_waste_g")), _number(basis.get("all_kitchen_waste_g"))
    grams = None if plate is None or kitchen is None else plate + kitchen
    return grams, _number(basis.get("yuan")), _number(basis.get("co2e_kg"))


@sa.event.listens_for(Scorecard, "before_insert")
@sa.event.listens_for(Scorecard, "before_update")
def _keep_waste_basis(_mapper: Any, _connection: Any, card: Scorecard) -> None:
    """A scorecard written through the ORM keeps its columns in step with its body (the monthly run writes both
    itself, in one executemany)."""
    card.plate_waste_g, card.diners = plate_waste_basis(card.body)
    card.waste_g, card.waste_yuan, card.waste_co2e_kg = waste_valuation(card.body)


class SamplingPlan(SQLModel, table=True):
    __table_args__ = (sa.UniqueConstraint("bureau_id", "year"),)

    id: int | None = Field(default=None, primary_key=True)
    bureau_id: int = Field(foreign_key="bureau.id")
    year: int
    seed: int
    created_by: int | None = Field(default=None, foreign_key="user.id")
    created_at: datetime = Field(sa_type=UTCDateTime)


class SamplingPick(SQLModel, table=True):
    plan_id: int = Field(foreign_key="samplingplan.id", primary_key=True, ondelete="CASCADE")
    canteen_id: int = Field(foreign_key="canteen.id", primary_key=True)
    planned_on: date
    reasons: list[str] = Field(sa_type=sa.JSON)  # never_assessed, failed, worsening, due, random


class Bulletin(SQLModel, table=True):
    """A bulletin (通报) for a bureau and period; a published version is immutable, a correction is a new
    version that names the one it supersedes."""

    __table_args__ = (sa.UniqueConstraint("bureau_id", "period", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    bureau_id: int = Field(foreign_key="bureau.id")
    period: str = Field(max_length=7)
    version: int = 1
    status: BulletinStatus = Field(default=BulletinStatus.draft, sa_type=enum_type(BulletinStatus))
    title: str = Field(max_length=200)
    # What the bureau writes: the opening, good practices, requirements; the figures come from scorecards.
    text: dict[str, Any] = Field(sa_type=sa.JSON)
    # Frozen when approved: the scorecard figures the bulletin reports.
    content: dict[str, Any] | None = Field(default=None, sa_type=sa.JSON)
    supersedes_id: int | None = Field(default=None, foreign_key="bulletin.id")
    correction_note: str = Field(default="", max_length=2000)
    created_by: int | None = Field(default=None, foreign_key="user.id")
    created_at: datetime = Field(sa_type=UTCDateTime)
    approved_by: int | None = Field(default=None, foreign_key="user.id")
    approved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    published_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Published bytes, served as they are: the content hash is over html then pdf.
    slug: str | None = Field(default=None, max_length=80, sa_column_kwargs={"unique": True})
    html: str | None = Field(default=None, sa_type=sa.Text)
    pdf: bytes | None = Field(default=None, sa_type=sa.LargeBinary)
    content_hash: str | None = Field(default=None, max_length=64)


class RectificationNotice(SQLModel, table=True):
    """整改通知: a canteen graded lowest must rectify by the deadline; the bureau re-checks (复查)."""

    id: int | None = Field(default=None, primary_key=True)
    canteen_id: int = Field(foreign_key="canteen.id", index=True)
    scorecard_id: int = Field(foreign_key="scorecard.id")
    bulletin_id: int | None = Field(default=None, foreign_key="bulletin.id")
    period: str = Field(max_length=7)
    failing: list[dict[str, Any]] = Field(sa_type=sa.JSON)  # indicator id, name, lost points, reason
    issued_at: datetime = Field(sa_type=UTCDateTime)
    deadline: date
    status: NoticeStatus = Field(default=NoticeStatus.open, sa_type=enum_type(NoticeStatus))
    overdue: bool = False  # set by the nightly job when the deadline passed without an answer
    measures: str = Field(default="", sa_type=sa.Text)
    answered_by: int | None = Field(default=None, foreign_key="user.id")
    answered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    recheck_note: str = Field(default="", max_length=2000)
    rechecked_by: int | None = Field(default=None, foreign_key="user.id")
    rechecked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
