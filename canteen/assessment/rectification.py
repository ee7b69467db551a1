"""Rectification (整改): a canteen graded lowest gets a notice with a deadline, its operator answers with the
measures taken and evidence, the bureau re-checks (复查) and closes the notice or escalates it; notices whose
deadline passed without an answer are flagged overdue every night."""
from collections.abc import Sequence
from datetime import date, datetime, timedelta

from sqlmodel import Session, col, select

from canteen.access import Role, Scope
from canteen.assessment import service
from canteen.assessment.evidence import stored_file
from canteen.assessment.models import EvidenceFile, NoticeStatus, RectificationNotice, Scorecard
from canteen.errors import Conflict, Forbidden, InvalidInput, NotFound
from canteen.i18n import N_, Term
from canteen.org import service as org_service
from canteen.org.models import Canteen

DEADLINE_DAYS = 30


def failing_indicators(card: Scorecard) -> list[dict]:
    """Indicators that lost points, biggest losses first, with their reasons."""
    lost = [item for item in card.body["indicators"] if float(item["lost"]) > 0]
    lost.sort(key=lambda item: (-float(item["lost"]), item["id"]))
    return [{"id": item["id"], "name": item["name"], "lost": float(item["lost"]),
             "reason": (item.get("reason") or {}).get("text", "")} for item in lost]


def issue_notices(session: Session, cards: list[Scorecard], issued: datetime, deadline: date | None = None,
                  bulletin_id: int | None = None) -> list[RectificationNotice]:
    """A notice for every scorecard graded lowest under its standard (vetoed ones included); one per period."""
    notices = []
    for card in cards:
        if not service.failed(session, card):
            continue
        exists = session.exec(select(RectificationNotice).where(RectificationNotice.canteen_id == card.canteen_id,
                                                                RectificationNotice.period == card.period)).first()
        if exists is not None:
            continue
        assert card.id is not None
        notice = RectificationNotice(canteen_id=card.canteen_id, scorecard_id=card.id, bulletin_id=bulletin_id,
                                     period=card.period, failing=failing_indicators(card), issued_at=issued,
                                     deadline=deadline or issued.date() + timedelta(days=DEADLINE_DAYS))
        session.add(notice)
        notices.append(notice)
    session.flush()
    return notices


def notices(session: Session, scope: Scope, status: NoticeStatus | None = None,
            canteen_id: int | None = None) -> list[tuple[RectificationNotice, Canteen]]:
    query = (select(RectificationNotice, Canteen).join(Canteen, col(Canteen.id) == RectificationNotice.canteen_id)
             .where(org_service.canteen_filter(scope)))
    if status is not None:
        query = query.where(RectificationNotice.status == status)
    if canteen_id is not None:
        query = query.where(RectificationNotice.canteen_id == canteen_id)
    return list(session.exec(query.order_by(col(RectificationNotice.deadline), col(RectificationNotice.id))))


def get_notice(session: Session, scope: Scope, notice_id: int) -> tuple[RectificationNotice, Canteen]:
    notice = session.get(RectificationNotice, notice_id)
    if notice is None:
        raise NotFound("notice {id} not found", field="notice_id", id=notice_id)
    return notice, org_service.get_canteen(session, scope, notice.canteen_id)


def answer(session: Session, scope: Scope, notice_id: int, measures: str, now: datetime,
           files: Sequence[tuple[str, str, bytes]] = ()) -> RectificationNotice:
    """The operator's measures (and files: name, content type, bytes); an open notice becomes answered."""
    notice, canteen = get_notice(session, scope, notice_id)
    if not (scope.is_admin or (scope.role is Role.operator and canteen.id in scope.canteen_ids)):
        raise Forbidden("only the canteen's operators answer its rectification notice")
    if notice.status is not NoticeStatus.open:
        raise Conflict("this notice was already answered")
    if not measures.strip():
        raise InvalidInput("describe the measures taken", field="measures")
    for filename, content_type, data in files:
        session.add(stored_file(filename, content_type, data, scope.user_id or None, now, notice_id=notice.id))
    notice.measures, notice.answered_by, notice.answered_at = measures.strip(), scope.user_id or None, now
    notice.status = NoticeStatus.answered
    session.add(notice)
    session.flush()
    return notice


def recheck(session: Session, scope: Scope, notice_id: int, passed: bool, note: str,
            now: datetime) -> RectificationNotice:
    """The bureau's re-check: passed closes the notice, failed escalates it. An unanswered overdue notice may
    be escalated too."""
    notice, _ = get_notice(session, scope, notice_id)
    service.require_bureau(scope)
    if notice.status in (NoticeStatus.closed, NoticeStatus.escalated):
        state = Term(N_("closed")) if notice.status is NoticeStatus.closed else Term(N_("escalated"))
        raise Conflict("this notice is already {status}", status=state)
    if notice.status is NoticeStatus.open and (passed or not notice.overdue):
        raise Conflict("the canteen has not answered yet")
    notice.status = NoticeStatus.closed if passed else NoticeStatus.escalated
    notice.recheck_note, notice.rechecked_by, notice.rechecked_at = note, scope.user_id or None, now
    session.add(notice)
    session.flush()
    return notice


def flag_overdue(session: Session, now: datetime) -> int:
    """Open notices still unanswered after their deadline day become overdue."""
    late = session.exec(select(RectificationNotice).where(RectificationNotice.status == NoticeStatus.open,
                                                          RectificationNotice.deadline < now.date(),
                                                          col(RectificationNotice.overdue).is_(False))).all()
    for notice in late:
        notice.overdue = True
        session.add(notice)
    session.flush()
    return len(late)


def files_of(session: Session, notice_id: int) -> list[EvidenceFile]:
    return list(session.exec(select(EvidenceFile).where(EvidenceFile.notice_id == notice_id)
                             .order_by(col(EvidenceFile.id))))
