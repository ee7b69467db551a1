"""The export a points platform pulls with its own key (`Authorization: Bearer ptk_…`), and the diner's export
settings as JSON."""
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from canteen.bounds import Id, parse_month
from canteen.errors import Unauthorized
from canteen.points import export
from canteen.points.export import PreferenceRead, PreferenceUpdate
from canteen.points.models import PointsClient
from canteen.web.deps import ApiScope, DbSession, Now, bearer

router = APIRouter(prefix="/api/v1", tags=["points export"])
MEDIA_TYPES = {"csv": "text/csv; charset=utf-8", "json": "application/json"}


async def client_key(request: Request) -> str:
    """The request's platform key, refused at once when it cannot be one."""
    key = bearer(request)
    if not key.startswith(export.CLIENT_KEY_PREFIX):
        raise Unauthorized(export.UNKNOWN_KEY, field="authorization")
    return key


def points_client(key: Annotated[str, Depends(client_key)], session: DbSession) -> PointsClient:
    return export.keyed_client(session, key)


@router.get("/points/export")
def pull(client: Annotated[PointsClient, Depends(points_client)], session: DbSession, bureau: Annotated[Id, Query()],
         month: Annotated[str, Query(max_length=7, examples=["2026-11"])],
         format: export.Format = "json") -> Response:
    """A month of the bureau's diner-days (the key's bureau or one under it), with their checksum: the same request
    gives the same rows and checksum while the points stay as they are."""
    rows = export.client_export(session, client, bureau, parse_month(month))
    filename = f"points-{bureau}-{rows.month:%Y-%m}.{format}"
    return Response(rows.render(format), media_type=MEDIA_TYPES[format],
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@router.get("/me/points-preferences")
def my_preferences(scope: ApiScope, session: DbSession) -> PreferenceRead:
    return export.preference(session, scope)


@router.put("/me/points-preferences")
def set_my_preferences(update: PreferenceUpdate, scope: ApiScope, session: DbSession, now: Now) -> PreferenceRead:
    """Whether the diner's points leave for the points platform, and their account id there (empty or null: none)."""
    saved = export.set_preference(session, scope, update, now)
    session.commit()
    return saved
