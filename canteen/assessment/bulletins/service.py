"""Bulletins (通报): what a bureau publishes about its canteens' scorecards for a period, and the workflow
draft -> approved -> published.

The figures come from scorecards and are frozen into `content` when the bulletin is approved; the bureau
writes only the opening, the good practices and the requirements. Publishing renders the HTML and the PDF
once and stores them; from then on they are served byte for byte and nothing about the bulletin changes.

A correction is a new version that names the one it supersedes in its own text. The superseded version
cannot name its successor (its bytes are fixed before the successor exists), so that link is given beside
the stored bytes: the public index marks it superseded, and its responses carry
`Link: </bulletins/...>; rel="successor-version"`.
"""
from dataclasses import dataclass
from datetime import date, datetime
from hashlib import sha256
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import defer
from sqlmodel import Session, col, select

from canteen.access import Role, Scope
from canteen.assessment import rectification
from canteen.assessment.bulletins.content import build_content, default_title
from canteen.assessment.bulletins.render import BulletinMeta, PreviousVersion, render_html
from canteen.assessment.models import Bulletin, BulletinStatus, RectificationNotice, Scorecard
from canteen.assessment.periods import Period, parse_period
from canteen.db import orm_attribute
from canteen.errors import Conflict, Forbidden, InvalidInput, NotFound
from canteen.i18n import N_
from canteen.org.models import Bureau, Canteen
from canteen.org.service import get_bureau
from canteen.paging import Page, paginate
from canteen.web.pdf import render_pdf

# Bulletins are dated in China's time, like the paper documents they stand for.
ZONE = ZoneInfo("Asia/Shanghai")
TEXT_PARTS = ("opening", "good_practices", "requirements")
MAX_TEXT_CHARS = 20_000
MAX_TITLE_CHARS = 200
MAX_NOTE_CHARS = 2_000
PER_PAGE = 20
# The field is named in words, not by its form name: the message is read in the language of the page.
TOO_LONG = {"opening": N_("the opening is longer than {limit} characters"),
            "good_practices": N_("the good practices are longer than {limit} characters"),
            "requirements": N_("the requirements are longer than {limit} characters")}

# ---- workflow ----------------------------------------------------------------


def _require_bureau(scope: Scope) -> None:
    if not (scope.is_admin or scope.role is Role.bureau):
        raise Forbidden("this needs a bureau or administrator account")


def _user(scope: Scope) -> int | None:
    return scope.user_id or None  # the CLI's SYSTEM scope is no user


def local_date(moment: datetime) -> date:
    return moment.astimezone(ZONE).date()


def get_bulletin(session: Session, scope: Scope, bulletin_id: int, *, lock: bool = False) -> Bulletin:
    _require_bureau(scope)
    query = select(Bulletin).where(Bulletin.id == bulletin_id)
    bulletin = session.exec(query.with_for_update() if lock else query).first()
    if bulletin is None:
        raise NotFound("bulletin {id} not found", field="bulletin_id", id=bulletin_id)
    try:
        get_bureau(session, scope, bulletin.bureau_id)
    except NotFound:
        raise NotFound("bulletin {id} not found", field="bulletin_id", id=bulletin_id) from None
    return bulletin


def page_number(text: str) -> int:
    """The `page` of a list's address, as typed there."""
    if not text.isdigit():
        raise InvalidInput("the page number must be 1 or more", field="page")
    return int(text)


def list_bulletins(session: Session, scope: Scope, bureau_id: int, page: int = 1,
                   per_page: int = PER_PAGE) -> Page[Bulletin]:
    """The bureau's own bulletins, every version, drafts included: newest period first, then newest version."""
    _require_bureau(scope)
    get_bureau(session, scope, bureau_id)
    query = (select(Bulletin).options(defer(orm_attribute(Bulletin.html)), defer(orm_attribute(Bulletin.pdf)),
                                      defer(orm_attribute(Bulletin.content)))
             .where(Bulletin.bureau_id == bureau_id)
             .order_by(col(Bulletin.period).desc(), col(Bulletin.version).desc()))
    return paginate(session, query, page, per_page)


def _latest(session: Session, bureau_id: int, period: str) -> Bulletin | None:
    return session.exec(select(Bulletin).where(Bulletin.bureau_id == bureau_id, Bulletin.period == period)
                        .order_by(col(Bulletin.version).desc())).first()


def _title(title: str | None, period: Period) -> str:
    title = default_title(period) if title is None else title.strip()
    if not title:
        raise InvalidInput("the title cannot be empty", field="title")
    if len(title) > MAX_TITLE_CHARS:
        raise InvalidInput("the title is longer than {limit} characters", field="title", limit=MAX_TITLE_CHARS)
    return title


def _text(text: dict[str, Any] | None, current: dict[str, Any]) -> dict[str, str]:
    merged = {part: current.get(part, "") for part in TEXT_PARTS}
    for part, value in (text or {}).items():
        if part not in TEXT_PARTS:
            raise InvalidInput("a bulletin's text has no part {part!r}", field="text", part=part)
        if not isinstance(value, str):
            raise InvalidInput("{field} must be text", field=f"text.{part}")
        if len(value) > MAX_TEXT_CHARS:
            raise InvalidInput(TOO_LONG[part], field=f"text.{part}", limit=MAX_TEXT_CHARS)
        merged[part] = value.strip()
    return merged


def _insert(session: Session, bulletin: Bulletin) -> Bulletin:
    session.add(bulletin)
    try:
        session.flush()
    except IntegrityError:  # another request made the same version first
        session.rollback()
        raise Conflict("a bulletin for {period} is already being prepared", field="period",
                       period=bulletin.period) from None
    return bulletin


def create_draft(session: Session, scope: Scope, bureau_id: int, period: str, now: datetime,
                 title: str | None = None, text: dict[str, Any] | None = None) -> Bulletin:
    """Version 1 for the bureau and period; once published, a change is a correction (`correct`)."""
    _require_bureau(scope)
    bureau = get_bureau(session, scope, bureau_id)
    assert bureau.id is not None
    parsed = parse_period(period)
    latest = _latest(session, bureau.id, parsed.name)
    if latest is not None and latest.status is BulletinStatus.published:
        raise Conflict("the bulletin for {period} is published: issue a correction to change it", field="period",
                       period=parsed.name)
    if latest is not None:
        raise Conflict("a bulletin for {period} is already being prepared", field="period", period=parsed.name)
    if not _has_scorecards(session, bureau, parsed):
        raise InvalidInput("no canteen of this jurisdiction has a scorecard for {period} yet: a bulletin reports "
                           "scorecards, so draft it once the period is scored", field="period", period=parsed.name)
    return _insert(session, Bulletin(bureau_id=bureau.id, period=parsed.name, version=1,
                                     title=_title(title, parsed), text=_text(text, {}),
                                     created_by=_user(scope), created_at=now))


def _has_scorecards(session: Session, bureau: Bureau, period: Period) -> bool:
    """Whether a canteen of the bureau's jurisdiction has a scorecard for the period: a bulletin reports them."""
    query = (select(Scorecard.id).join(Canteen, col(Canteen.id) == Scorecard.canteen_id)
             .join(Bureau, col(Bureau.id) == Canteen.bureau_id)
             .where(Scorecard.kind == period.kind, Scorecard.period == period.name,
                    col(Bureau.path).startswith(bureau.path)).limit(1))
    return session.exec(query).first() is not None


def delete_draft(session: Session, scope: Scope, bulletin_id: int) -> int:
    """Removes a bulletin that is not published yet (a draft, or approved but not published); returns its bureau.

    A published one is public and stays: it is put right by a correction.
    """
    bulletin = get_bulletin(session, scope, bulletin_id, lock=True)
    if bulletin.status is BulletinStatus.published:
        raise Conflict("a published bulletin cannot be deleted: issue a correction to change it", field="status")
    session.delete(bulletin)
    session.flush()
    return bulletin.bureau_id


def _in_status(bulletin: Bulletin, status: BulletinStatus) -> None:
    if bulletin.status is status:
        return
    if status is BulletinStatus.draft:
        raise Conflict("only a draft bulletin can be edited or approved", field="status")
    if status is BulletinStatus.approved:
        raise Conflict("only an approved bulletin can be published", field="status")
    raise Conflict("only a published bulletin can be corrected", field="status")


def update_draft(session: Session, scope: Scope, bulletin_id: int, title: str | None = None,
                 text: dict[str, Any] | None = None) -> Bulletin:
    """Changes the title and the given parts of the text; parts not given keep what they said."""
    bulletin = get_bulletin(session, scope, bulletin_id, lock=True)
    _in_status(bulletin, BulletinStatus.draft)
    if title is not None:
        bulletin.title = _title(title, parse_period(bulletin.period))
    if text is not None:
        bulletin.text = _text(text, bulletin.text)
    session.add(bulletin)
    session.flush()
    return bulletin


def _current_content(session: Session, scope: Scope, bulletin: Bulletin, now: datetime) -> dict[str, Any]:
    content = build_content(session, scope, bulletin.bureau_id, bulletin.period, issued_on=local_date(now))
    if not content["ranking"]:
        raise InvalidInput("no canteen of this jurisdiction has a scorecard for {period}", field="period",
                           period=bulletin.period)
    return content


def approve(session: Session, scope: Scope, bulletin_id: int, now: datetime) -> Bulletin:
    """Freezes the figures as they are now; the rectification deadline runs from today."""
    bulletin = get_bulletin(session, scope, bulletin_id, lock=True)
    _in_status(bulletin, BulletinStatus.draft)
    bulletin.content = _current_content(session, scope, bulletin, now)
    bulletin.status = BulletinStatus.approved
    bulletin.approved_by, bulletin.approved_at = _user(scope), now
    session.add(bulletin)
    session.flush()
    return bulletin


INDEX_URL = "/bulletins"


def bulletin_url(slug: str) -> str:
    return f"{INDEX_URL}/{slug}"


def public_slug(bulletin: Bulletin) -> str:
    """The bulletin's public name, given when it is published (and known before, for the confirmation)."""
    return f"{bulletin.bureau_id}-{bulletin.period}-v{bulletin.version}"


def _meta(session: Session, bulletin: Bulletin, issued_on: date, public_url: str | None = None,
          has_pdf: bool = True) -> BulletinMeta:
    previous = session.get(Bulletin, bulletin.supersedes_id) if bulletin.supersedes_id else None
    bureau = session.get(Bureau, bulletin.bureau_id)
    assert bureau is not None  # a bulletin's bureau exists (foreign key)
    supersedes = None
    if previous is not None:
        # Only a published bulletin is corrected.
        assert previous.slug is not None and previous.published_at is not None
        supersedes = PreviousVersion(version=previous.version, title=previous.title, url=bulletin_url(previous.slug),
                                     published_on=local_date(previous.published_at))
    return BulletinMeta(
        title=bulletin.title, issuer=bureau.name, version=bulletin.version, issued_on=issued_on,
        supersedes=supersedes,
        correction_note=bulletin.correction_note,
        public_url=public_url, index_url=INDEX_URL if public_url else None, has_pdf=has_pdf,
    )


def preview_html(session: Session, scope: Scope, bulletin_id: int, now: datetime) -> str:
    """The bulletin as it would be published now: a draft with today's figures, otherwise as frozen or stored."""
    bulletin = get_bulletin(session, scope, bulletin_id)
    if bulletin.status is BulletinStatus.published:
        assert bulletin.html is not None  # stored when it was published
        return bulletin.html
    content = bulletin.content or _current_content(session, scope, bulletin, now)
    return render_html(content, bulletin.text, _meta(session, bulletin, local_date(now)))


def publish(session: Session, scope: Scope, bulletin_id: int, now: datetime, *, with_pdf: bool = True) -> Bulletin:
    """Renders the HTML and the PDF once and stores them (from now on the bulletin never changes), and issues
    the rectification notices it announces. `with_pdf=False` (the demo on a machine without Chromium) stores the
    HTML alone, which says that the PDF is not available."""
    bulletin = get_bulletin(session, scope, bulletin_id, lock=True)
    _in_status(bulletin, BulletinStatus.approved)
    assert bulletin.content is not None  # frozen when it was approved
    slug = public_slug(bulletin)
    # The stored page links to its own PDF and to the index; the PDF, printed from it, leaves those links out.
    html = render_html(bulletin.content, bulletin.text,
                       _meta(session, bulletin, local_date(now), bulletin_url(slug), has_pdf=with_pdf))
    pdf = render_pdf(html) if with_pdf else None
    bulletin.html, bulletin.pdf = html, pdf
    bulletin.content_hash = sha256(html.encode("utf-8") + (pdf or b"")).hexdigest()
    bulletin.slug = slug
    bulletin.status = BulletinStatus.published
    bulletin.published_at = now
    session.add(bulletin)
    session.flush()
    _issue_notices(session, bulletin, now)
    return bulletin


def _issue_notices(session: Session, bulletin: Bulletin, now: datetime) -> list[RectificationNotice]:
    """A published bulletin's failing canteens each get a notice with the bulletin's deadline."""
    failing = failing_canteens(bulletin)
    ids = [item.scorecard_id for item in failing]
    cards = list(session.exec(select(Scorecard).where(col(Scorecard.id).in_(ids))))
    deadline = failing[0].deadline if failing else None
    return rectification.issue_notices(session, cards, now, deadline, bulletin.id)


def correct(session: Session, scope: Scope, bulletin_id: int, now: datetime, note: str) -> Bulletin:
    """A new draft version that supersedes a published one; the old one stays published as it was."""
    old = get_bulletin(session, scope, bulletin_id, lock=True)
    _in_status(old, BulletinStatus.published)
    note = note.strip()
    if not note:
        raise InvalidInput("say what the correction changes", field="note")
    if len(note) > MAX_NOTE_CHARS:
        raise InvalidInput("what the correction changes is longer than {limit} characters", field="note",
                           limit=MAX_NOTE_CHARS)
    latest = _latest(session, old.bureau_id, old.period)
    assert latest is not None  # old is one of the versions
    if latest.id != old.id:
        raise Conflict("version {version} already corrects this bulletin", field="bulletin_id",
                       version=latest.version)
    return _insert(session, Bulletin(bureau_id=old.bureau_id, period=old.period, version=old.version + 1,
                                     title=old.title, text=dict(old.text), supersedes_id=old.id,
                                     correction_note=note, created_by=_user(scope), created_at=now))


@dataclass(frozen=True)
class FailingCanteen:
    """What a rectification notice (整改通知) needs for one canteen a published bulletin names as failing."""

    canteen_id: int
    scorecard_id: int
    failing: list[dict[str, Any]]  # indicator id, name, lost points, reason
    deadline: date


def failing_canteens(bulletin: Bulletin) -> list[FailingCanteen]:
    if bulletin.status is not BulletinStatus.published:
        raise Conflict("bulletin {id} is not published yet", field="status", id=bulletin.id)
    assert bulletin.content is not None  # frozen when it was approved
    deadline = date.fromisoformat(bulletin.content["rectification"]["deadline"])
    return [FailingCanteen(item["canteen_id"], item["scorecard_id"],
                           [{key: indicator[key] for key in ("id", "name", "lost", "reason")}
                            for indicator in item["indicators"]], deadline)
            for item in bulletin.content["failing"]]


# ---- public ------------------------------------------------------------------


def published(session: Session, slug: str) -> Bulletin:
    bulletin = session.exec(select(Bulletin).where(Bulletin.slug == slug,
                                                   Bulletin.status == BulletinStatus.published)).first()
    if bulletin is None:
        raise NotFound("bulletin {id} not found", field="slug", id=slug)
    return bulletin


def successor(session: Session, bulletin: Bulletin) -> Bulletin | None:
    """The published version that corrects this one, if there is one yet."""
    return session.exec(select(Bulletin)
                        .options(defer(orm_attribute(Bulletin.html)), defer(orm_attribute(Bulletin.pdf)))
                        .where(Bulletin.supersedes_id == bulletin.id,
                               Bulletin.status == BulletinStatus.published)).first()


def version_links(session: Session, bulletin: Bulletin) -> dict[str, str]:
    """The public addresses of the versions a published bulletin corrects and is corrected by, by link relation
    (RFC 5829): what its stored bytes cannot say about a later correction."""
    links = {}
    if bulletin.supersedes_id is not None:
        previous = session.exec(select(Bulletin.slug).where(Bulletin.id == bulletin.supersedes_id)).one()
        assert previous is not None  # only a published bulletin is corrected
        links["predecessor-version"] = bulletin_url(previous)
    later = successor(session, bulletin)
    if later is not None:
        assert later.slug is not None  # it is published
        links["successor-version"] = bulletin_url(later.slug)
    return links


@dataclass(frozen=True)
class PublishedEntry:
    bulletin: Bulletin
    bureau: str
    supersedes: Bulletin | None
    superseded_by: Bulletin | None


def _summaries(session: Session, *conditions: Any) -> list[Bulletin]:
    """Published bulletins without their stored bytes and frozen figures (a list shows neither)."""
    return list(session.exec(select(Bulletin).options(
        defer(orm_attribute(Bulletin.html)), defer(orm_attribute(Bulletin.pdf)),
        defer(orm_attribute(Bulletin.content))).where(Bulletin.status == BulletinStatus.published, *conditions)))


def list_published(session: Session, bureau_id: int | None = None, page: int = 1,
                   per_page: int = PER_PAGE) -> Page[PublishedEntry]:
    """Published bulletins, newest first; with a bureau, those of its whole jurisdiction. Each entry names the
    version it corrects and the one that corrects it, wherever in the list those are."""
    conditions: list[Any] = [Bulletin.status == BulletinStatus.published]
    if bureau_id is not None:
        bureau = session.get(Bureau, bureau_id)
        if bureau is None:
            raise NotFound("bureau {id} not found", field="bureau_id", id=bureau_id)
        conditions.append(col(Bureau.path).startswith(bureau.path))
    found = paginate(session, select(Bulletin, Bureau.name)
                     .options(defer(orm_attribute(Bulletin.html)), defer(orm_attribute(Bulletin.pdf)),
                              defer(orm_attribute(Bulletin.content)))
                     .join(Bureau, col(Bureau.id) == Bulletin.bureau_id).where(*conditions)
                     .order_by(col(Bulletin.published_at).desc(), col(Bulletin.id).desc()), page, per_page)
    rows = found.rows
    ids = [bulletin.id for bulletin, _ in rows]
    earlier = [bulletin.supersedes_id for bulletin, _ in rows if bulletin.supersedes_id is not None]
    predecessors = {bulletin.id: bulletin for bulletin in _summaries(session, col(Bulletin.id).in_(earlier))} \
        if earlier else {}
    successors = {bulletin.supersedes_id: bulletin
                  for bulletin in _summaries(session, col(Bulletin.supersedes_id).in_(ids))} if ids else {}
    entries = [PublishedEntry(bulletin, bureau, predecessors.get(bulletin.supersedes_id), successors.get(bulletin.id))
               for bulletin, bureau in rows]
    return Page(rows=entries, total=found.total, number=found.number, per_page=found.per_page)
