"""The canteen's waste-factors page: the prices and factors in force with where each comes from, and the
form where its operators set the canteen's own (a blank field inherits)."""
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel
from sqlmodel import Session

from canteen.access import Scope, may_operate
from canteen.bounds import Id
from canteen.errors import CanteenError
from canteen.i18n import N_
from canteen.org import service as org_service
from canteen.web.deps import CsrfChecked, DbSession, Now, PageScope
from canteen.web.forms import render_form, validate_form
from canteen.weighing.costs import service
from canteen.weighing.costs.models import FactorSource, FactorsUpdate, WasteStage

router = APIRouter(include_in_schema=False)

STAGE_LABELS = {
    WasteStage.plate: N_("Plate returns"),
    WasteStage.storage: N_("Storage losses"),
    WasteStage.trimmings: N_("Prep trimmings"),
    WasteStage.unserved: N_("Cooked but unserved"),
    WasteStage.kitchen_scraps: N_("Kitchen scraps"),
    WasteStage.other: N_("Other"),
    WasteStage.unclassified: N_("Unclassified"),
}
FACTOR_SOURCE_LABELS = {
    FactorSource.canteen: N_("set by the canteen"),
    FactorSource.bureau: N_("the bureau's default"),
    FactorSource.default: N_("default"),
}


class FactorsForm(BaseModel):
    """The form's text, one field a stage (named as WasteStage's members) and the two factors; blank inherits."""

    plate: str = ""
    storage: str = ""
    trimmings: str = ""
    unserved: str = ""
    kitchen_scraps: str = ""
    other: str = ""
    unclassified: str = ""
    co2e_kg_per_kg: str = ""
    water_l_per_kg: str = ""

    @classmethod
    def of(cls, update: FactorsUpdate) -> "FactorsForm":
        def text(value: float | None) -> str:
            return "" if value is None else f"{value:g}"
        return cls(**{stage.name: text(update.prices.get(stage)) for stage in WasteStage},
                   co2e_kg_per_kg=text(update.co2e_kg_per_kg), water_l_per_kg=text(update.water_l_per_kg))

    def update(self) -> FactorsUpdate:
        prices = {stage: text.strip() for stage in WasteStage if (text := getattr(self, stage.name)).strip()}
        return validate_form(FactorsUpdate, prices=prices, co2e_kg_per_kg=self.co2e_kg_per_kg.strip() or None,
                             water_l_per_kg=self.water_l_per_kg.strip() or None)


def _page(request: Request, session: Session, scope: Scope, canteen_id: int, form: FactorsForm | None = None,
          error: CanteenError | None = None) -> Response:
    canteen = org_service.get_canteen(session, scope, canteen_id)
    return _render(request, {
        "canteen": canteen, "owner_name": canteen.name, "action": f"/canteens/{canteen_id}/waste-factors",
        "factors": service.canteen_factors(session, scope, canteen_id),
        "form": form or FactorsForm.of(service.own_canteen_factors(session, scope, canteen_id)),
        "can_set": may_operate(scope, canteen_id),
    }, error)


def _bureau_page(request: Request, session: Session, scope: Scope, bureau_id: int, form: FactorsForm | None = None,
                 error: CanteenError | None = None) -> Response:
    bureau = org_service.get_bureau(session, scope, bureau_id)
    return _render(request, {
        "canteen": None, "owner_name": bureau.name, "action": f"/bureaus/{bureau_id}/waste-factors",
        "factors": service.bureau_factors(session, scope, bureau_id),
        "form": form or FactorsForm.of(service.own_bureau_factors(session, scope, bureau_id)),
        "can_set": service.may_set_bureau_factors(scope),
    }, error)


def _render(request: Request, context: dict, error: CanteenError | None) -> Response:
    return render_form(request, "weighing/waste_factors.html", {
        **context, "stages": list(WasteStage), "stage_labels": STAGE_LABELS, "factor_sources": FACTOR_SOURCE_LABELS,
    }, error)


@router.get("/canteens/{canteen_id}/waste-factors")
def factors_page(canteen_id: Id, request: Request, scope: PageScope, session: DbSession) -> Response:
    return _page(request, session, scope, canteen_id)


@router.post("/canteens/{canteen_id}/waste-factors", dependencies=[CsrfChecked])
def set_factors(canteen_id: Id, request: Request, scope: PageScope, session: DbSession, now: Now,
                form: Annotated[FactorsForm, Form()]) -> Response:
    try:
        service.set_canteen_factors(session, scope, canteen_id, form.update(), now)
    except CanteenError as error:
        session.rollback()
        return _page(request, session, scope, canteen_id, form, error)
    session.commit()
    return RedirectResponse(f"/canteens/{canteen_id}/waste-factors", status_code=303)


@router.get("/bureaus/{bureau_id}/waste-factors")
def bureau_factors_page(bureau_id: Id, request: Request, scope: PageScope, session: DbSession) -> Response:
    return _bureau_page(request, session, scope, bureau_id)


@router.post("/bureaus/{bureau_id}/waste-factors", dependencies=[CsrfChecked])
def set_bureau_factors(bureau_id: Id, request: Request, scope: PageScope, session: DbSession, now: Now,
                       form: Annotated[FactorsForm, Form()]) -> Response:
    try:
        service.set_bureau_factors(session, scope, bureau_id, form.update(), now)
    except CanteenError as error:
        session.rollback()
        return _bureau_page(request, session, scope, bureau_id, form, error)
    session.commit()
    return RedirectResponse(f"/bureaus/{bureau_id}/waste-factors", status_code=303)
