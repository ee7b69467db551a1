"""Form handling shared by the HTML pages: form text validated into service schemas, errors shown in place."""
from typing import Any, TypeVar

from fastapi import Request
from fastapi.responses import Response
from pydantic import BaseModel, ValidationError

from canteen.errors import CanteenError, InvalidInput
from canteen.i18n import error_text
from canteen.web.templating import render, request_language

SchemaT = TypeVar("SchemaT", bound=BaseModel)


def validate_form(schema: type[SchemaT], **values: Any) -> SchemaT:
    """Validate form text into a service schema; a refused value becomes an InvalidInput naming its field."""
    try:
        return schema.model_validate(values)
    except ValidationError as error:
        first = error.errors()[0]
        raise InvalidInput("this value is not accepted: {problem}", field=".".join(str(part) for part in first["loc"]),
                           problem=first["msg"]) from None


def render_form(request: Request, template: str, context: dict[str, Any], error: CanteenError | None) -> Response:
    """The page, or on an error the same page with the message, the field it concerns and the error's status."""
    if error is None:
        return render(request, template, context)
    return render(request, template, {**context, "error": error_text(error, request_language(request)),
                                      "error_field": error.field}, status_code=error.status_code)
