"""The push to a bureau's points platform, its webhook: the diner-days that are over, in signed batches, each row
with its idempotency key; a batch the platform does not acknowledge (2xx) is retried later with growing delays,
and a row once acknowledged is never sent again.

Rows are claimed before they are sent (a conditional UPDATE gives them the batch and a lease), so two runs at the
same moment send each row once, and a run that dies mid-batch leaves its rows to be claimed again when the lease
is over. Only diners with an account id on the platform are pushed (the platform could credit no one else);
their days wait, within LOOKBACK_DAYS, until they set one. README.md, "Export to a points platform", documents
the body, the signature and the retries.
"""
import hashlib
import hmac
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import httpx
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from canteen.access import Scope, require_admin
from canteen.db import table_of
from canteen.errors import InvalidInput, NotFound
from canteen.org.models import Bureau, Canteen
from canteen.points.export import compact_json, record
from canteen.points.models import PointsDelivery, PointsWebhook
from canteen.points.service import PointsRow, daily_points_rows

BATCH_SIZE = 200
LOOKBACK_DAYS = 31  # days further back are not pushed (the pull export still has them)
FIRST_RETRY = timedelta(minutes=5)  # then twice as long after each failure in a row, up to LONGEST_RETRY
LONGEST_RETRY = timedelta(hours=6)
CLAIM_LEASE = timedelta(minutes=10)  # well past TIMEOUT_S: a claimed row is another run's only once its run died
TIMEOUT_S = 30.0
SIGNATURE_HEADER = "X-Canteen-Signature"
TIMESTAMP_HEADER = "X-Canteen-Timestamp"
LOOPBACK_HOSTS = ("127.0.0.1", "::1", "localhost")
URL_LENGTH, SECRET_LENGTHS = 500, (16, 128)

Key = tuple[int, date, int]  # diner, day, rule
Send = Callable[[str, bytes, dict[str, str]], int]  # url, body, headers -> HTTP status; raises httpx.HTTPError


def post(url: str, body: bytes, headers: dict[str, str]) -> int:
    return httpx.post(url, content=body, headers=headers, timeout=TIMEOUT_S, follow_redirects=False).status_code


# ---- the bureau's webhook --------------------------------------------------------------------------------------


def _valid_url(url: str) -> str:
    url = url.strip()
    try:
        parts = urlsplit(url)
        host, _ = parts.hostname, parts.port  # an unreadable port raises here
    except ValueError:
        host = None
    secure = host is not None and (parts.scheme == "https" or (parts.scheme == "http" and host in LOOPBACK_HOSTS))
    if not secure or parts.username or parts.password or len(url) > URL_LENGTH or not url.isprintable():
        raise InvalidInput("the webhook address must be an https:// URL of at most 500 characters without a user "
                           "name or password (http:// only to this machine itself)", field="url")
    return url


def _valid_secret(secret: str) -> str:
    shortest, longest = SECRET_LENGTHS
    if not shortest <= len(secret) <= longest or not secret.isascii() or not secret.isprintable() or " " in secret:
        raise InvalidInput("the secret must be 16 to 128 printable ASCII characters without spaces", field="secret")
    return secret


def set_webhook(session: Session, scope: Scope, bureau_id: int, url: str, secret: str,
                now: datetime) -> PointsWebhook:
    """Where the bureau's diner-days go from the next push on, signed with the secret the platform gave."""
    require_admin(scope)
    if session.get(Bureau, bureau_id) is None:
        raise NotFound("bureau {id} not found", field="bureau_id", id=bureau_id)
    webhook = session.get(PointsWebhook, bureau_id) or PointsWebhook(bureau_id=bureau_id, url="", secret="",
                                                                     updated_at=now)
    webhook.url, webhook.secret, webhook.active = _valid_url(url), _valid_secret(secret), True
    webhook.updated_by, webhook.updated_at = scope.user_id or None, now
    session.add(webhook)
    session.flush()
    return webhook


def disable_webhook(session: Session, scope: Scope, bureau_id: int, now: datetime) -> PointsWebhook:
    """No more pushes to the bureau's platform; what it acknowledged stays acknowledged."""
    require_admin(scope)
    webhook = session.get(PointsWebhook, bureau_id)
    if webhook is None:
        raise NotFound("bureau {id} has no webhook", field="bureau_id", id=bureau_id)
    webhook.active, webhook.updated_by, webhook.updated_at = False, scope.user_id or None, now
    session.add(webhook)
    session.flush()
    return webhook


# ---- signing and retrying --------------------------------------------------------------------------------------


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """`sha256=` and the hex HMAC-SHA256, keyed with the secret, of the timestamp, a dot and the raw body."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def retry_delay(attempts: int) -> timedelta:
    """How long a row waits after its attempts-th failed attempt in a row."""
    return min(LONGEST_RETRY, FIRST_RETRY * 2 ** min(max(attempts - 1, 0), 20))


# ---- the push --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PushOutcome:
    webhooks: int
    sent: int  # diner-days the platforms acknowledged
    failed: int  # batches they did not, to be retried

    def summary(self) -> str:
        return (f"{self.sent} diner-days acknowledged by {self.webhooks} points platforms, "
                f"{self.failed} batches to retry")


def push_due(session: Session, now: datetime, send: Send = post) -> PushOutcome:
    """Every active webhook's due rows, batch by batch; a bureau's push stops at its first refused batch."""
    webhooks = session.exec(select(PointsWebhook).where(col(PointsWebhook.active).is_(True))
                            .order_by(col(PointsWebhook.bureau_id))).all()
    targets = [(webhook.bureau_id, webhook.url, webhook.secret) for webhook in webhooks]
    sent = failed = 0
    for bureau_id, url, secret in targets:
        acknowledged, refused = _push_bureau(session, bureau_id, url, secret, now, send)
        sent, failed = sent + acknowledged, failed + refused
    return PushOutcome(len(targets), sent, failed)


def _key(row: PointsRow) -> Key:
    return row.diner_id, row.service_date, row.rule_id


def _pushable(session: Session, bureau_id: int, now: datetime) -> tuple[date, dict[Key, PointsRow]]:
    """The first day looked at, and the rows that may go: days over at their canteen, of diners with an id."""
    bureau = session.get(Bureau, bureau_id)
    if bureau is None:
        return now.date(), {}
    subtree = select(Bureau.id).where(col(Bureau.path).startswith(bureau.path))
    zones = session.exec(select(Canteen.id, Canteen.timezone).where(col(Canteen.bureau_id).in_(subtree))).all()
    today = {canteen_id: now.astimezone(ZoneInfo(zone)).date() for canteen_id, zone in zones}
    if not today:
        return now.date(), {}
    latest = max(today.values())
    start = latest - timedelta(days=LOOKBACK_DAYS)
    rows = daily_points_rows(session, bureau_id, start, latest - timedelta(days=1))
    return start, {_key(row): row for row in rows
                   if row.external_id and row.service_date < today.get(row.canteen_id, latest)}


def _due(session: Session, bureau_id: int, start: date, rows: dict[Key, PointsRow], now: datetime) -> list[Key]:
    """The rows not acknowledged and not waiting for a retry or another run's lease, oldest first; rows new to the
    push get their delivery record first."""
    table = table_of(PointsDelivery)
    stored = session.execute(sa.select(table.c.diner_id, table.c.service_date, table.c.rule_id, table.c.delivered_at,
                                       table.c.next_attempt_at)
                             .where(table.c.bureau_id == bureau_id, table.c.service_date >= start)).all()
    known: dict[Key, tuple[datetime | None, datetime | None]] = {
        (row.diner_id, row.service_date, row.rule_id): (row.delivered_at, row.next_attempt_at) for row in stored}
    new = [key for key in rows if key not in known]
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    for first in range(0, len(new), BATCH_SIZE):
        session.execute(dialect.insert(table).values([
            {"bureau_id": bureau_id, "diner_id": diner, "service_date": day, "rule_id": rule, "attempts": 0,
             "last_error": ""} for diner, day, rule in new[first:first + BATCH_SIZE]]).on_conflict_do_nothing())
    session.commit()
    return sorted((key for key in rows if _is_due(known.get(key, (None, None)), now)),
                  key=lambda key: (key[1], key[0], key[2]))


def _is_due(delivery: tuple[datetime | None, datetime | None], now: datetime) -> bool:
    delivered_at, next_attempt_at = delivery
    return delivered_at is None and (next_attempt_at is None or next_attempt_at <= now)


def _claim(session: Session, bureau_id: int, keys: list[Key], batch_id: str, now: datetime) -> dict[Key, int]:
    """Takes those of the keys still due for this batch (a row another run claimed meanwhile is not due any more:
    PostgreSQL re-checks the condition on the row it waited for, SQLite runs one writer at a time); their
    attempts, this one counted."""
    table = table_of(PointsDelivery)
    claimed = session.execute(
        sa.update(table)
        .where(table.c.bureau_id == bureau_id,
               sa.tuple_(table.c.diner_id, table.c.service_date, table.c.rule_id).in_(keys),
               table.c.delivered_at.is_(None),
               sa.or_(table.c.next_attempt_at.is_(None), table.c.next_attempt_at <= now))
        .values(batch_id=batch_id, attempts=table.c.attempts + 1, next_attempt_at=now + CLAIM_LEASE)
        .returning(table.c.diner_id, table.c.service_date, table.c.rule_id, table.c.attempts)).all()
    session.commit()
    return {(row.diner_id, row.service_date, row.rule_id): row.attempts for row in claimed}


def _finish(session: Session, bureau_id: int, batch_id: str, attempts: set[int], error: str | None,
            now: datetime) -> None:
    table = table_of(PointsDelivery)
    batch = sa.update(table).where(table.c.bureau_id == bureau_id, table.c.batch_id == batch_id)
    if error is None:
        session.execute(batch.values(delivered_at=now, next_attempt_at=None, last_error=""))
    else:
        for count in attempts:
            session.execute(batch.where(table.c.attempts == count).values(
                next_attempt_at=now + retry_delay(count), last_error=error[:200]))
    session.commit()


def body(bureau_id: int, batch_id: str, rows: list[PointsRow], now: datetime) -> bytes:
    return compact_json({"bureau_id": bureau_id, "batch_id": batch_id, "sent_at": now.isoformat(),
                         "rows": [record(row) for row in rows]}).encode("utf-8")


def _push_bureau(session: Session, bureau_id: int, url: str, secret: str, now: datetime,
                 send: Send) -> tuple[int, int]:
    start, rows = _pushable(session, bureau_id, now)
    due = _due(session, bureau_id, start, rows, now)
    acknowledged = 0
    for first in range(0, len(due), BATCH_SIZE):
        batch_id = uuid.uuid4().hex
        claimed = _claim(session, bureau_id, due[first:first + BATCH_SIZE], batch_id, now)
        if not claimed:
            continue
        content = body(bureau_id, batch_id, [rows[key] for key in due[first:first + BATCH_SIZE] if key in claimed],
                       now)
        timestamp = str(int(now.timestamp()))
        headers = {"Content-Type": "application/json", TIMESTAMP_HEADER: timestamp,
                   SIGNATURE_HEADER: signature(secret, timestamp, content)}
        try:
            status = send(url, content, headers)
            error = None if 200 <= status < 300 else f"HTTP {status}"
        except httpx.HTTPError as failure:
            error = f"{type(failure).__name__}: {failure}"
        _finish(session, bureau_id, batch_id, set(claimed.values()), error, now)
        if error is not None:
            return acknowledged, 1
        acknowledged += len(claimed)
    return acknowledged, 0
