"""Form handling shared by the HTML pages: form text validated into service schemas, errors shown in place."""
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, ValidationError
from sqlmodel import Session
from starlette.datastructures import FormData, UploadFile

from canteen.errors import CanteenError, InvalidInput
from canteen.i18n import error_text, validation_error
from canteen.web.templating import render, request_language

SchemaT = TypeVar("SchemaT", bound=BaseModel)


def validate_form(schema: type[SchemaT], **values: Any) -> SchemaT:
    """Validate form text into a service schema; a refused value becomes an InvalidInput naming its field
    and the reason in the catalogue's words (pydantic's own messages are English only)."""
    try:
        return schema.model_validate(values)
    except ValidationError as error:
        raise validation_error(error.errors()[0]) from None


def render_form(request: Request, template: str, context: dict[str, Any], error: CanteenError | None) -> Response:
    """The page, or on an error the same page with the message, the field it concerns and the error's status."""
    if error is None:
        return render(request, template, context)
    return render(request, template, {**context, "error": error_text(error, request_language(request)),
                                      "error_field": error.field}, status_code=error.status_code)


def local_today(zone: str, now: datetime) -> date:
    return now.astimezone(ZoneInfo(zone)).date()


def server_today(request: Request, now: datetime) -> date:
    """Today in the server's time zone, for pages over many canteens rather than one."""
    return local_today(request.app.state.settings.timezone, now)


def optional_choice(text: str, choices: dict[str, Any], field: str) -> Any:
    """A filter value from a query string: empty means any, an unknown one is refused."""
    if not text:
        return None
    if text not in choices:
        raise InvalidInput("{field} must be one of the choices offered", field=field)
    return choices[text]


def form_outcome(session: Session, action: Callable[[], str],
                 on_error: Callable[[CanteenError], Response]) -> Response:
    """Run a form's change: committed and on to the page it names, or rolled back and the form shown again
    with the error in place."""
    try:
        target = action()
    except CanteenError as error:
        session.rollback()
        return on_error(error)
    session.commit()
    return RedirectResponse(target, status_code=303)


def text_fields(form: FormData) -> dict[str, str]:
    """A posted form's text fields by name (the last value of a repeated one); files are left out."""
    return {field: value for field, value in form.items() if isinstance(value, str)}


@dataclass(frozen=True)
class Upload:
    field: str
    filename: str
    content_type: str
    data: bytes


async def read_form(request: Request, max_bytes: int) -> tuple[FormData, list[Upload]]:
    """The posted form and every file chosen in it (file inputs left empty send nothing worth keeping).

    A file is read up to one byte past the size limit: enough for the service to refuse it in place.
    """
    form = await request.form()
    uploads = []
    for field, value in form.multi_items():
        if isinstance(value, UploadFile) and value.filename:
            data = await value.read(max_bytes + 1)
            uploads.append(Upload(field, value.filename, value.content_type or "", data))
    return form, uploads
