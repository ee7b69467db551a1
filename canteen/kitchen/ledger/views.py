"""The kitchen-waste ledger's pages: the month on screen with the operators' hand-over form, as Excel and as a
printable PDF with signature lines."""
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

import pandas as pd
from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel
from pydantic import Field as PydanticField
from sqlmodel import Session

from canteen.access import Scope, may_operate
from canteen.bounds import Id, parse_month
from canteen.errors import CanteenError, InvalidInput
from canteen.i18n import N_, gettext
from canteen.kitchen.ledger import service
from canteen.kitchen.ledger.models import MAX_HANDOVER_G, HandoverEntry
from canteen.org import service as org_service
from canteen.web.deps import CsrfChecked, DbSession, Now, PageScope
from canteen.web.exports import spreadsheet, xlsx_response
from canteen.web.forms import render_form, validate_form
from canteen.web.pdf import render_pdf
from canteen.web.templating import request_language, templates
from canteen.weighing.models import KitchenCategory
from canteen.weighing.views import CATEGORY_LABELS

router = APIRouter(include_in_schema=False)

GRAM = Decimal("0.001")  # in kilograms

KG_HEADERS = {
    KitchenCategory.storage: N_("Storage losses (kg)"),
    KitchenCategory.trimmings: N_("Prep trimmings (kg)"),
    KitchenCategory.unserved: N_("Cooked but unserved (kg)"),
    KitchenCategory.kitchen_scraps: N_("Kitchen scraps (kg)"),
    KitchenCategory.other: N_("Other kitchen waste (kg)"),
    KitchenCategory.unclassified: N_("Unclassified kitchen waste (kg)"),
}
EXPORT_HEADERS = {
    "date": N_("Date"),
    **{category.value: header for category, header in KG_HEADERS.items()},
    "waste_total_kg": N_("Kitchen waste in all (kg)"),
    "weighed_by": N_("Weighed by"),
    "collector": N_("Collector"),
    "manifest_no": N_("Manifest number"),
    "handed_over_kg": N_("Handed over (kg)"),
    "note": N_("Note"),
}


def _kg(grams: int) -> float:
    return grams / 1000


def _month_label(month: date, language: str) -> str:
    return gettext("{month}/{year}", language).format(month=month.month, year=month.year)


def _ledger(session: Session, scope: Scope, canteen_id: int, month: str, now: datetime) -> service.Ledger:
    """The month asked for, else the canteen's current month."""
    if month:
        return service.ledger(session, scope, canteen_id, parse_month(month))
    canteen = org_service.get_canteen(session, scope, canteen_id)
    return service.ledger(session, scope, canteen_id, org_service.local_date(canteen, now).replace(day=1))


def _context(ledger: service.Ledger, language: str) -> dict:
    return {"ledger": ledger, "canteen": ledger.canteen, "month_label": _month_label(ledger.month, language),
            "categories": list(KitchenCategory), "category_labels": CATEGORY_LABELS}


class HandoverForm(BaseModel):
    handed_on: str = ""
    collector: str = ""
    manifest_no: str = ""
    weight_kg: str = ""
    note: str = ""


class _Kilograms(BaseModel):
    weight_kg: Decimal = PydanticField(gt=0, le=MAX_HANDOVER_G // 1000)


def _grams(text: str) -> int:
    """Kilograms as typed in the form (to the gram: up to three decimals) as grams."""
    kilograms = validate_form(_Kilograms, weight_kg=text).weight_kg
    if kilograms != kilograms.quantize(GRAM):
        raise InvalidInput("{field} takes at most three decimals (whole grams)", field="weight_kg")
    return int(kilograms * 1000)


def _page(request: Request, session: Session, scope: Scope, canteen_id: int, month: str, now: datetime,
          form: HandoverForm | None = None, error: CanteenError | None = None) -> Response:
    ledger = _ledger(session, scope, canteen_id, month, now)
    today = org_service.local_date(ledger.canteen, now)
    return render_form(request, "kitchen/ledger/ledger.html", {
        **_context(ledger, request_language(request)), "month": f"{ledger.month:%Y-%m}",
        "can_record": may_operate(scope, canteen_id), "today": today,
        "form": form or HandoverForm(handed_on=today.isoformat()),
    }, error)


@router.get("/canteens/{canteen_id}/ledger")
def ledger_page(canteen_id: Id, request: Request, scope: PageScope, session: DbSession, now: Now,
                month: str = "") -> Response:
    return _page(request, session, scope, canteen_id, month, now)


@router.post("/canteens/{canteen_id}/waste-handovers", dependencies=[CsrfChecked])
def add_handover(canteen_id: Id, request: Request, scope: PageScope, session: DbSession, now: Now,
                 form: Annotated[HandoverForm, Form()]) -> Response:
    try:
        entry = validate_form(HandoverEntry, handed_on=form.handed_on, collector=form.collector,
                              manifest_no=form.manifest_no, grams=_grams(form.weight_kg), note=form.note)
        service.record_handover(session, scope, canteen_id, entry, now)
    except CanteenError as error:
        session.rollback()
        return _page(request, session, scope, canteen_id, "", now, form, error)
    session.commit()
    return RedirectResponse(f"/canteens/{canteen_id}/ledger?month={entry.handed_on:%Y-%m}", status_code=303)


def _export_frame(ledger: service.Ledger, language: str) -> pd.DataFrame:
    """One row a day, and one more for each further hand-over of the day (its waste cells left blank), then the
    month's totals and what was weighed but not handed over."""
    rows: list[dict] = []
    for day in ledger.days:
        waste = {category.value: _kg(grams) for category, grams in day.waste_g.items()}
        first = {"date": day.day, **waste, "waste_total_kg": _kg(day.waste_total_g),
                 "weighed_by": gettext(", ", language).join(day.weighed_by)}
        for index, handover in enumerate(day.handovers or [None]):
            row = first if index == 0 else {"date": day.day}
            if handover is not None:
                row = {**row, "collector": handover.collector, "manifest_no": handover.manifest_no,
                       "handed_over_kg": _kg(handover.grams), "note": handover.note}
            rows.append(row)
    rows.append({"date": gettext("Month total", language),
                 **{category.value: _kg(grams) for category, grams in ledger.waste_g.items()},
                 "waste_total_kg": _kg(ledger.waste_total_g), "handed_over_kg": _kg(ledger.handed_over_g)})
    rows.append({"date": gettext("Weighed less handed over", language), "waste_total_kg": _kg(ledger.difference_g)})
    return pd.DataFrame.from_records(rows, columns=list(EXPORT_HEADERS))


@router.get("/canteens/{canteen_id}/ledger.xlsx")
def ledger_xlsx(canteen_id: Id, request: Request, scope: PageScope, session: DbSession, now: Now,
                month: str = "") -> Response:
    ledger = _ledger(session, scope, canteen_id, month, now)
    language = request_language(request)
    table = spreadsheet(_export_frame(ledger, language), EXPORT_HEADERS, language)
    return xlsx_response(table, f"ledger-{canteen_id}-{ledger.month:%Y-%m}.xlsx",
                         gettext("Kitchen waste ledger", language))


def _document(ledger: service.Ledger, language: str) -> str:
    """The ledger as a standalone printable HTML document."""
    return templates.get_template("kitchen/ledger/print.html").render(
        _=lambda message: gettext(message, language), language=language, **_context(ledger, language))


@router.get("/canteens/{canteen_id}/ledger.pdf")
def ledger_pdf(canteen_id: Id, request: Request, scope: PageScope, session: DbSession, now: Now,
               month: str = "") -> Response:
    """Printed by Chromium in the worker thread FastAPI runs this in (Playwright's sync API needs one)."""
    ledger = _ledger(session, scope, canteen_id, month, now)
    pdf = render_pdf(_document(ledger, request_language(request)))
    return Response(pdf, media_type="application/pdf", headers={
        "Content-Disposition": f'inline; filename="ledger-{canteen_id}-{ledger.month:%Y-%m}.pdf"'})
