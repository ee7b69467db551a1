"""Evidence for the checklist indicators: the canteen's quarterly self-evaluation and the bureau's on-site
inspection (answers, notes, files and photos), and the veto items and bonus points a bureau records."""
import hashlib
import io
import warnings
import zipfile
from collections.abc import Mapping
from datetime import date, datetime
from typing import TypeVar

from PIL import Image
from sqlmodel import Session, col, select

from canteen.access import Role, Scope
from canteen.assessment import service
from canteen.assessment.models import (
    AssessmentStandard,
    BonusAward,
    Evaluation,
    EvaluationAnswer,
    EvaluationKind,
    EvaluationStatus,
    EvidenceFile,
    RectificationNotice,
    ScorecardKind,
    VetoEvent,
)
from canteen.assessment.periods import Period
from canteen.assessment.scoring import ANSWER_TEXT
from canteen.assessment.standard import ChecklistIndicator, Standard
from canteen.errors import Conflict, Forbidden, InvalidInput, NotFound, PayloadTooLarge
from canteen.i18n import N_
from canteen.org import service as org_service
from canteen.org.models import Canteen

MAX_FILE_BYTES = 10 * 1024 * 1024
# Photos bigger than this many pixels are refused rather than decoded (a 10 MB file can claim far more).
MAX_IMAGE_PIXELS = 50_000_000
IMAGE_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
# Office files are ZIP packages; the part that makes each what it is.
OFFICE_TYPES = {"word/document.xml": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                "xl/workbook.xml": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
FILE_TYPES = {"application/pdf", *IMAGE_TYPES.values(), *OFFICE_TYPES.values()}
NOT_A_KNOWN_FILE = N_("the file is not a PDF, Word or Excel file or a photo (JPEG, PNG, WebP) that can be opened")


def _may_fill(scope: Scope, canteen: Canteen, kind: EvaluationKind) -> bool:
    """Self-evaluations are the canteen operators'; inspections the supervising bureaus' (admins may do both)."""
    if scope.is_admin:
        return True
    if kind is EvaluationKind.self:
        return scope.role is Role.operator and canteen.id in scope.canteen_ids
    return scope.role is Role.bureau


def checklist_items(standard: Standard, kind: EvaluationKind) -> list[ChecklistIndicator]:
    """The indicators this kind of evaluation answers, in the standard's order."""
    return [indicator for _, indicator in standard.indicators()
            if isinstance(indicator, ChecklistIndicator) and kind.value in indicator.evidence]


def evaluation(session: Session, scope: Scope, canteen_id: int, period: Period, kind: EvaluationKind,
               now: datetime) -> Evaluation:
    """The canteen's evaluation of this kind for the quarter, started (as a draft) if there is none yet."""
    if period.kind is not ScorecardKind.quarterly:
        raise InvalidInput("evaluations are quarterly: give a quarter like 2026-Q4", field="period")
    canteen = org_service.get_canteen(session, scope, canteen_id)
    found = session.exec(select(Evaluation).where(Evaluation.canteen_id == canteen_id,
                                                  Evaluation.period == period.name, Evaluation.kind == kind)).first()
    if found is not None:
        return found
    if not _may_fill(scope, canteen, kind):
        raise Forbidden("only the canteen's operators fill its self-evaluation; only bureaus inspect")
    standard = service.standards_for(session, [canteen], period.ends, now)[canteen_id]
    assert standard.id is not None
    row = Evaluation(canteen_id=canteen_id, period=period.name, kind=kind, standard_id=standard.id,
                     by=scope.user_id or None, updated_at=now)
    session.add(row)
    session.flush()
    return row


def _editable(session: Session, scope: Scope, evaluation_id: int) -> tuple[Evaluation, Standard]:
    row = session.get(Evaluation, evaluation_id)
    if row is None:
        raise NotFound("evaluation {id} not found", field="evaluation_id", id=evaluation_id)
    canteen = org_service.get_canteen(session, scope, row.canteen_id)
    if not _may_fill(scope, canteen, row.kind):
        raise Forbidden("only the canteen's operators fill its self-evaluation; only bureaus inspect")
    if row.status is EvaluationStatus.submitted:
        raise Conflict("this evaluation was submitted and can no longer be changed")
    standard = session.get(AssessmentStandard, row.standard_id)
    assert standard is not None  # an evaluation's standard stays (foreign key)
    return row, service.parsed(standard)


def save_answers(session: Session, scope: Scope, evaluation_id: int, answers: Mapping[str, tuple[str, str]],
                 now: datetime, submit: bool = False, visited_on: date | None = None) -> Evaluation:
    """Answers per indicator id as (met | partly | not_met, note); submitting needs every item answered."""
    row, standard = _editable(session, scope, evaluation_id)
    assert row.id is not None
    items = {item.id: item for item in checklist_items(standard, row.kind)}
    for indicator_id, (answer, note) in answers.items():
        if indicator_id not in items:
            raise InvalidInput("{id} is not an item of this checklist", field=indicator_id, id=indicator_id)
        if answer not in ANSWER_TEXT:
            raise InvalidInput("answer met, partly or not_met", field=indicator_id)
        if len(note) > 2000:
            raise InvalidInput("a note may have at most 2000 characters", field=indicator_id)
        stored = session.get(EvaluationAnswer, (row.id, indicator_id)) or EvaluationAnswer(
            evaluation_id=row.id, indicator_id=indicator_id, answer=answer)
        stored.answer, stored.note = answer, note
        session.add(stored)
    session.flush()
    if submit:
        answered = set(session.exec(select(EvaluationAnswer.indicator_id).where(
            EvaluationAnswer.evaluation_id == row.id)))
        missing = [indicator_id for indicator_id in items if indicator_id not in answered]
        if missing:
            raise InvalidInput("answer every item before submitting; missing: {ids}", field=missing[0],
                               ids=", ".join(missing))
        row.status, row.submitted_at = EvaluationStatus.submitted, now
    row.updated_at, row.visited_on = now, visited_on or row.visited_on
    session.add(row)
    session.flush()
    return row


def answers_of(session: Session, evaluation_id: int) -> dict[str, EvaluationAnswer]:
    return {row.indicator_id: row for row in session.exec(
        select(EvaluationAnswer).where(EvaluationAnswer.evaluation_id == evaluation_id))}


def _image_type(data: bytes) -> str | None:
    """The type of a JPEG, PNG or WebP photo that decodes in full, else None."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                found = IMAGE_TYPES.get(image.format or "")
                width, height = image.size
                if found is None or width * height > MAX_IMAGE_PIXELS:
                    return None
                image.load()  # every pixel: a truncated or damaged photo fails here
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError, Image.DecompressionBombWarning):
        return None
    return found


def _office_type(data: bytes) -> str | None:
    """The type of a Word or Excel (.docx, .xlsx) package, from the parts its ZIP directory lists, else None."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as package:
            names = set(package.namelist())
    except (zipfile.BadZipFile, OSError, ValueError):
        return None
    if "[Content_Types].xml" not in names:
        return None
    return next((kind for part, kind in OFFICE_TYPES.items() if part in names), None)


def file_type(data: bytes) -> str | None:
    """What the bytes are, among the types accepted (FILE_TYPES), or None: a PDF starts with %PDF-, a photo
    decodes, a Word or Excel file is a ZIP package with its main part. What the browser said is not asked."""
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    if data.startswith(b"PK\x03\x04"):
        return _office_type(data)
    return _image_type(data)


def stored_file(filename: str, content_type: str, data: bytes, by: int | None, now: datetime, **owner) -> EvidenceFile:
    """The file to store, with the type its own bytes show; `content_type` (the browser's word, which anyone
    can set) is not trusted, so a file that is not what the accepted types are is refused whatever it claims."""
    if not data:
        raise InvalidInput("the file is empty", field="file")
    if len(data) > MAX_FILE_BYTES:
        raise PayloadTooLarge("a file may have at most {mb} MB", field="file", mb=MAX_FILE_BYTES // 2**20)
    detected = file_type(data)
    if detected is None:
        raise InvalidInput(NOT_A_KNOWN_FILE, field="file")
    return EvidenceFile(filename=filename[-200:] or "file", content_type=detected, size=len(data),
                        sha256=hashlib.sha256(data).hexdigest(), data=data, uploaded_by=by, uploaded_at=now, **owner)


def attach_file(session: Session, scope: Scope, evaluation_id: int, indicator_id: str | None, filename: str,
                content_type: str, data: bytes, now: datetime) -> EvidenceFile:
    row, standard = _editable(session, scope, evaluation_id)
    if indicator_id is not None and indicator_id not in {item.id for item in checklist_items(standard, row.kind)}:
        raise InvalidInput("{id} is not an item of this checklist", field="indicator_id", id=indicator_id)
    stored = stored_file(filename, content_type, data, scope.user_id or None, now, evaluation_id=row.id,
                          indicator_id=indicator_id)
    session.add(stored)
    session.flush()
    return stored


def files_of(session: Session, evaluation_id: int) -> list[EvidenceFile]:
    return list(session.exec(select(EvidenceFile).where(EvidenceFile.evaluation_id == evaluation_id)
                             .order_by(col(EvidenceFile.id))))


def get_file(session: Session, scope: Scope, file_id: int) -> EvidenceFile:
    """A file, for those who may see the canteen it belongs to."""
    stored = session.get(EvidenceFile, file_id)
    owner = None
    if stored is not None and stored.evaluation_id is not None:
        owning_evaluation = session.get(Evaluation, stored.evaluation_id)
        assert owning_evaluation is not None  # foreign key
        owner = owning_evaluation.canteen_id
    elif stored is not None and stored.notice_id is not None:
        owning_notice = session.get(RectificationNotice, stored.notice_id)
        assert owning_notice is not None  # foreign key
        owner = owning_notice.canteen_id
    if stored is None or owner is None:
        raise NotFound("file {id} not found", field="file_id", id=file_id)
    org_service.get_canteen(session, scope, owner)
    return stored


def _bureau_over(session: Session, scope: Scope, canteen_id: int) -> Canteen:
    canteen = org_service.get_canteen(session, scope, canteen_id)
    if not (scope.is_admin or scope.role is Role.bureau):
        raise Forbidden("only a supervising bureau records vetoes and bonuses")
    return canteen


def _known(standard: Standard, kind: str, item_id: str) -> None:
    known = {item.id for item in (standard.vetoes if kind == "veto" else standard.bonuses)}
    if item_id not in known:
        message = N_("{standard} has no veto {id}") if kind == "veto" else N_("{standard} has no bonus {id}")
        raise InvalidInput(message, field=f"{kind}_id", standard=standard.code, id=item_id)


_Event = TypeVar("_Event", VetoEvent, BonusAward)


def _bureau_event(session: Session, scope: Scope, canteen_id: int, kind: str, item_id: str, on: date,
                  now: datetime, row: _Event) -> _Event:
    """Store a veto or bonus the bureau records, once the canteen's standard in force on `on` is known to have it."""
    canteen = _bureau_over(session, scope, canteen_id)
    _known(service.parsed(service.standards_for(session, [canteen], on, now)[canteen_id]), kind, item_id)
    session.add(row)
    session.flush()
    return row


def record_veto(session: Session, scope: Scope, canteen_id: int, veto_id: str, occurred_on: date, note: str,
                now: datetime) -> VetoEvent:
    return _bureau_event(session, scope, canteen_id, "veto", veto_id, occurred_on, now, VetoEvent(
        canteen_id=canteen_id, veto_id=veto_id, occurred_on=occurred_on, note=note,
        recorded_by=scope.user_id or None, recorded_at=now))


def award_bonus(session: Session, scope: Scope, canteen_id: int, bonus_id: str, awarded_on: date, note: str,
                now: datetime) -> BonusAward:
    return _bureau_event(session, scope, canteen_id, "bonus", bonus_id, awarded_on, now, BonusAward(
        canteen_id=canteen_id, bonus_id=bonus_id, awarded_on=awarded_on, note=note,
        recorded_by=scope.user_id or None, recorded_at=now))


def events_of(session: Session, scope: Scope, canteen_id: int) -> tuple[list[VetoEvent], list[BonusAward]]:
    org_service.get_canteen(session, scope, canteen_id)
    return (list(session.exec(select(VetoEvent).where(VetoEvent.canteen_id == canteen_id)
                              .order_by(col(VetoEvent.occurred_on).desc()))),
            list(session.exec(select(BonusAward).where(BonusAward.canteen_id == canteen_id)
                              .order_by(col(BonusAward.awarded_on).desc()))))
