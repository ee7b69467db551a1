from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from canteen.access import Role
from canteen.org import service
from canteen.web.deps import DbSession, PageScope
from canteen.web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/")
def home(request: Request, scope: PageScope, session: DbSession) -> Response:
    if scope.role is Role.admin:
        return RedirectResponse("/admin/canteens", status_code=303)
    if scope.role is Role.diner:
        canteens = service.canteens_by_id(session, scope.canteen_ids)
        return render(request, "org/diner_home.html", {"canteens": canteens})
    canteens = service.list_canteens(session, scope)
    bureaus = ({bureau.id: bureau for bureau in service.list_bureaus(session, scope)}
               if scope.role is Role.bureau else {})
    return render(request, "org/home.html", {"canteens": canteens, "bureaus": bureaus})


@router.get("/canteens/{canteen_id}")
def canteen_page(canteen_id: int, request: Request, scope: PageScope, session: DbSession) -> Response:
    canteen = service.get_canteen(session, scope, canteen_id)
    return render(request, "org/canteen.html", {
        "canteen": service.canteen_read(session, canteen),
        "stations": service.list_stations(session, scope, canteen_id),
    })
