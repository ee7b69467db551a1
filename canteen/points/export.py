"""What leaves for a points platform: a bureau's month of diner-days as CSV or JSON with a checksum, the keys with
which platforms pull it, and each diner's own choices (left out of every export; their account id there).

A row's key is its idempotency key, (diner, day, rule): the same request gives the same rows, keys and checksum
for as long as the points stay as they are. README.md, "Export to a points platform", defines the formats.
"""
import csv
import hashlib
import io
import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from canteen.access import SYSTEM, Role, Scope, require_admin
from canteen.bounds import month_end
from canteen.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthorized
from canteen.i18n import N_
from canteen.org import service as org_service
from canteen.org.models import Bureau
from canteen.points.models import PointsClient, PointsPreference
from canteen.points.service import PointsRow, daily_points_rows
from canteen.security import new_secret, secret_hash

CLIENT_KEY_PREFIX = "ptk_"
COLUMNS = ("key", "diner_id", "external_id", "canteen_id", "canteen", "date", "plates", "clean_plates", "points",
           "rule_id")
CHECKSUM_LINE = "#sha256:"  # the CSV's last line: this, then the hex digest of every byte before it
Format = Literal["csv", "json"]
EXTERNAL_ID_LENGTH = 64
CLIENT_NAME_LENGTH = 100
BAD_EXTERNAL_ID = N_("the points platform account id must be 1 to 64 printable characters, not starting with = "
                     "or @ (leave it empty to have none)")
UNKNOWN_KEY = N_("unknown or revoked points platform key")


def row_key(row: PointsRow) -> str:
    """The idempotency key of a diner-day under its rule: `diner:date:rule`."""
    return f"{row.diner_id}:{row.service_date.isoformat()}:{row.rule_id}"


def record(row: PointsRow) -> dict[str, Any]:
    """A row as the platform reads it, its fields in COLUMNS' order (the diner's sign-in name never leaves)."""
    return {"key": row_key(row), "diner_id": row.diner_id, "external_id": row.external_id,
            "canteen_id": row.canteen_id, "canteen": row.canteen, "date": row.service_date.isoformat(),
            "plates": row.plates, "clean_plates": row.clean_plates, "points": row.points, "rule_id": row.rule_id}


def compact_json(value: object) -> str:
    """JSON as the checksum and the signature read it: no spaces, non-ASCII as it is (JavaScript's JSON.stringify)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Export:
    bureau_id: int
    month: date
    rows: list[PointsRow]

    def csv(self) -> str:
        """A header, a line per row, and the checksum line of every byte before it (lines end in LF)."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(COLUMNS)
        for row in self.rows:
            writer.writerow(["" if value is None else value for value in record(row).values()])
        body = buffer.getvalue()
        return f"{body}{CHECKSUM_LINE}{sha256(body)}\n"

    def json(self) -> str:
        """One compact JSON object; its sha256 is that of its `rows` array exactly as written in it."""
        rows = compact_json([record(row) for row in self.rows])
        head = compact_json({"bureau_id": self.bureau_id, "month": f"{self.month:%Y-%m}", "count": len(self.rows)})
        return f'{head[:-1]},"rows":{rows},"sha256":"{sha256(rows)}"}}\n'

    def render(self, format: Format) -> str:
        return self.csv() if format == "csv" else self.json()


def export_month(session: Session, bureau_id: int, month: date) -> Export:
    """The bureau's diner-days of the month (its whole subtree), opted-out diners left out."""
    org_service.get_bureau(session, SYSTEM, bureau_id)
    return Export(bureau_id, month, daily_points_rows(session, bureau_id, month, month_end(month)))


# ---- the platforms' keys ---------------------------------------------------------------------------------------


def create_client(session: Session, scope: Scope, bureau_id: int, name: str, now: datetime) -> tuple[PointsClient, str]:
    """A platform's key for pulling the bureau's export (and its subtree's); shown once, only its hash kept."""
    require_admin(scope)
    if session.get(Bureau, bureau_id) is None:
        raise NotFound("bureau {id} not found", field="bureau_id", id=bureau_id)
    name = name.strip()
    if not name or len(name) > CLIENT_NAME_LENGTH or not name.isprintable():
        raise InvalidInput("the name must be 1 to 100 printable characters", field="name")
    key = new_secret(CLIENT_KEY_PREFIX.rstrip("_"))
    client = PointsClient(bureau_id=bureau_id, name=name, key_hash=secret_hash(key), created_at=now)
    session.add(client)
    session.flush()
    return client, key


def revoke_client(session: Session, scope: Scope, client_id: int) -> PointsClient:
    require_admin(scope)
    client = session.get(PointsClient, client_id)
    if client is None:
        raise NotFound("points platform key {id} not found", field="client_id", id=client_id)
    client.active = False
    session.add(client)
    session.flush()
    return client


def list_clients(session: Session, scope: Scope, bureau_id: int | None = None) -> list[PointsClient]:
    require_admin(scope)
    query = select(PointsClient)
    if bureau_id is not None:
        query = query.where(PointsClient.bureau_id == bureau_id)
    return list(session.exec(query.order_by(col(PointsClient.id))))


def keyed_client(session: Session, key: str) -> PointsClient:
    client = session.exec(select(PointsClient).where(PointsClient.key_hash == secret_hash(key))).first()
    if client is None or not client.active:
        raise Unauthorized(UNKNOWN_KEY, field="authorization")
    return client


def client_export(session: Session, client: PointsClient, bureau_id: int, month: date) -> Export:
    """The export a key asks for: of its own bureau or one under it, never another's."""
    requested = session.get(Bureau, bureau_id)
    if requested is None:
        raise NotFound("bureau {id} not found", field="bureau", id=bureau_id)
    own = session.get(Bureau, client.bureau_id)
    if own is None or not requested.path.startswith(own.path):
        raise Forbidden("this key reads only bureau {id} and the bureaus under it", field="bureau",
                        id=client.bureau_id)
    return export_month(session, bureau_id, month)


# ---- the diner's own choices -----------------------------------------------------------------------------------


class PreferenceUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    export: bool
    external_id: str | None  # their account id on the points platform; empty or null: none


class PreferenceRead(BaseModel):
    export: bool
    external_id: str | None
    updated_at: datetime | None


def _diner(scope: Scope) -> None:
    if scope.role is not Role.diner:
        raise Forbidden("only diners have points export settings")


def clean_external_id(text: str | None) -> str | None:
    """The id as stored: surrounding spaces dropped, empty meaning none; what a spreadsheet would run as a formula
    (a leading = or @) or what is not printable is refused."""
    text = (text or "").strip()
    if not text:
        return None
    if len(text) > EXTERNAL_ID_LENGTH or not text.isprintable() or text.startswith(("=", "@")):
        raise InvalidInput(BAD_EXTERNAL_ID, field="external_id")
    return text


def preference(session: Session, scope: Scope) -> PreferenceRead:
    """The diner's choices; a diner who never chose is exported, without an account id."""
    _diner(scope)
    stored = session.get(PointsPreference, scope.user_id)
    if stored is None:
        return PreferenceRead(export=True, external_id=None, updated_at=None)
    return PreferenceRead(export=stored.export, external_id=stored.external_id, updated_at=stored.updated_at)


def set_preference(session: Session, scope: Scope, update: PreferenceUpdate, now: datetime) -> PreferenceRead:
    _diner(scope)
    external_id = clean_external_id(update.external_id)
    stored = session.get(PointsPreference, scope.user_id) or PointsPreference(user_id=scope.user_id, updated_at=now)
    stored.export, stored.external_id, stored.updated_at = update.export, external_id, now
    session.add(stored)
    try:
        session.flush()
    except IntegrityError:  # the diner's first choice saved by another request since the lookup
        session.rollback()
        raise Conflict("your settings were saved from elsewhere at the same moment; try again") from None
    return PreferenceRead(export=stored.export, external_id=stored.external_id, updated_at=stored.updated_at)
