"""Translations from the Babel catalogues in web/locales; English msgids, zh-CN by default."""
import re
from collections.abc import Mapping, Sequence
from decimal import Decimal
from functools import lru_cache
from io import BytesIO
from pathlib import Path
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

from canteen.config import LANGUAGES
from canteen.errors import CanteenError, InvalidInput

LOCALES_DIR = Path(__file__).parent / "web" / "locales"


def N_(message: str) -> str:
    """Mark a string for extraction; it is translated where it is shown."""
    return message


class Term(str):
    """A message parameter that is itself a msgid (a meal, a status): translated with the message it goes in.

    Plain string parameters are the user's own text (a dish's name) and are never translated.
    """

    __slots__ = ()


@lru_cache
def translations(language: str) -> NullTranslations:
    catalogue = LOCALES_DIR / language / "LC_MESSAGES" / "messages.po"
    if not catalogue.exists():
        return NullTranslations()
    # Compiling the .po in memory keeps binary .mo files out of the repository.
    with catalogue.open("rb") as po_file:
        compiled = BytesIO()
        write_mo(compiled, read_po(po_file, locale=language))
    compiled.seek(0)
    return Translations(compiled)


def gettext(message: str, language: str) -> str:
    return translations(language).gettext(message)


def error_text(error: CanteenError, language: str) -> str:
    """The error's message in the language, its field named as people know it (never the raw field name)."""
    params = {key: gettext(value, language) if isinstance(value, Term) else value
              for key, value in error.params.items()}
    return gettext(error.reason, language).format(field=field_label(error.field, language), **params)


def pick_language(requested: str | None, default: str) -> str:
    return requested if requested in LANGUAGES else default


def accepted_language(header: str | None) -> str | None:
    """The supported language an Accept-Language header prefers (`zh-CN,zh;q=0.9,en;q=0.8` → zh_CN), if any."""
    ranked: list[tuple[float, int, str]] = []
    for position, entry in enumerate((header or "").split(",")):
        tag, _, parameters = entry.strip().partition(";")
        quality = 1.0
        if parameters.strip().startswith("q="):
            try:
                quality = float(parameters.strip()[2:])
            except ValueError:
                continue
        primary = tag.strip().lower().split("-")[0]
        language = {"zh": "zh_CN", "en": "en"}.get(primary)
        if language is not None and quality > 0:
            ranked.append((-quality, position, language))
    return min(ranked)[2] if ranked else None


# What people call the fields of forms, query strings and API bodies, by field name. A field missing here is
# shown as "this value": a raw name such as `canteen_id` is never shown.
FIELD_LABELS: dict[str, str] = {
    "page": N_("Page"),
    "q": N_("Search"),
    "active": N_("Active"),
    "answer": N_("Answer"),
    "answers": N_("Answers"),
    "baudrate": N_("Baud rate"),
    "before": N_("Before"),
    "booking_id": N_("Booking"),
    "breakfast_capacity": N_("Places"),
    "bulletin_id": N_("Bulletin"),
    "bureau": N_("Bureau"),
    "bureau_id": N_("Bureau"),
    "bytesize": N_("Data bits"),
    "canteen": N_("Canteen"),
    "canteen_id": N_("Canteen"),
    "canteen_ids": N_("Canteens"),
    "capacity_g": N_("Capacity (g)"),
    "card_number": N_("Card number"),
    "category": N_("Category"),
    "choices": N_("Dishes"),
    "clean_plate_threshold_g": N_("Clean-plate threshold (g)"),
    "collector": N_("Collector"),
    "cooked_kg": N_("Cooked (kg)"),
    "applies_from": N_("Applies from"),
    "closed_date": N_("Date"),
    "corrects": N_("Corrected record"),
    "county": N_("Bureau"),
    "cutoff_days_before": N_("Days before the meal"),
    "cutoff_time": N_("Booking and cancelling close at"),
    "date": N_("Date"),
    "day": N_("Date"),
    "days": N_("Weekdays"),
    "dinner_capacity": N_("Places"),
    "diner_ref": N_("Diner"),
    "diners": N_("Diners"),
    "dish_id": N_("Dish"),
    "dish_ids": N_("Dishes"),
    "display_name": N_("Display name"),
    "effective_from": N_("In force from"),
    "evaluation_id": N_("Evaluation"),
    "file": N_("File"),
    "files": N_("Evidence files"),
    "from": N_("From"),
    "grade": N_("Grade"),
    "good_practices": N_("Good practices"),
    "grams": N_("Grams"),
    "handed_on": N_("Date handed over"),
    "item": N_("Item"),
    "item_id": N_("Item"),
    "items": N_("Items"),
    "kind": N_("Kind"),
    "level": N_("Level"),
    "lunch_capacity": N_("Places"),
    "manifest_no": N_("Manifest number"),
    "meal": N_("Meal"),
    "meal_windows": N_("Meal times"),
    "measured_at": N_("Time weighed"),
    "measures": N_("Measures taken"),
    "month": N_("Month"),
    "mode": N_("Serving mode"),
    "name": N_("Name"),
    "note": N_("Note"),
    "notice_id": N_("Notice"),
    "offers_half": N_("Half portion"),
    "offers_small": N_("Small portion"),
    "on": N_("Date"),
    "opening": N_("Opening"),
    "operating_mode": N_("Operating mode"),
    "parent_id": N_("Parent bureau"),
    "parity": N_("Parity"),
    "password": N_("Password"),
    "period": N_("Period"),
    "plate_waste_target_g": N_("Plate-waste target (g)"),
    "portion": N_("Portion"),
    "protocol": N_("Protocol"),
    "raw_grams": N_("Raw ingredients per full portion (g)"),
    "price_yuan_per_kg": N_("Price (¥/kg)"),
    "reason": N_("Reason"),
    "recurring_id": N_("Recurring booking"),
    "requirements": N_("Requirements"),
    "result": N_("Result"),
    "role": N_("Role"),
    "scorecard_id": N_("Scorecard"),
    "seats": N_("Seats"),
    "seed": N_("Seed"),
    "seq": N_("Sequence number"),
    "service_date": N_("Date"),
    "serving_mode": N_("Serving mode"),
    "set_meal": N_("Set meal"),
    "standard_id": N_("Standard"),
    "starts": N_("From"),
    "station_id": N_("Station"),
    "status": N_("Status"),
    "stopbits": N_("Stop bits"),
    "timezone": N_("Time zone"),
    "title": N_("Title"),
    "to": N_("To"),
    "token": N_("Booking code"),
    "until": N_("To"),
    "user_id": N_("User"),
    "username": N_("User name"),
    "visited_on": N_("Visit date"),
    "weight_kg": N_("Weight handed over (kg)"),
    "year": N_("Year"),
    **{f"{meal}_{edge}": N_("Meal times") for meal in ("breakfast", "lunch", "dinner") for edge in ("starts", "ends")},
}
THIS_VALUE = N_("this value")
_NUMBERED = re.compile(r"_\d+$")  # answer_12: the answer to item 12


def field_label(field: str | None, language: str) -> str:
    """The label of a field (`choices.0.dish_id` by its last named part that has one), else "this value"."""
    parts = [_NUMBERED.sub("", part) for part in (field or "").split(".") if part and not part.isdigit()]
    for name in (".".join(parts), *reversed(parts)):
        if name in FIELD_LABELS:
            return gettext(FIELD_LABELS[name], language)
    return gettext(THIS_VALUE, language)


_NUMBER = N_("{field} must be a number")
_WHOLE_NUMBER = N_("{field} must be a whole number")
_DATE = N_("{field} must be a date such as 2026-11-23")
_DATETIME = N_("{field} must be a date and time such as 2026-11-23T12:00:00+08:00")
_TIME = N_("{field} must be a time such as 12:30")
_CHOICE = N_("{field} must be one of the choices offered")
_YES_NO = N_("{field} must be yes or no")
_URL = N_("{field} must be a web address such as https://example.org")
_JSON = N_("the request body is not valid JSON")
_SHAPE = N_("{field} does not have the expected form")
NOT_ACCEPTED = N_("{field} is not accepted")

# A pydantic error's type → the catalogue's message and the key of its ctx that gives {limit} (if any).
VALIDATION_MESSAGES: dict[str, tuple[str, str | None]] = {
    "missing": (N_("{field} is required"), None),
    "less_than_equal": (N_("{field} must be at most {limit}"), "le"),
    "less_than": (N_("{field} must be less than {limit}"), "lt"),
    "greater_than_equal": (N_("{field} must be at least {limit}"), "ge"),
    "greater_than": (N_("{field} must be greater than {limit}"), "gt"),
    "multiple_of": (N_("{field} must be a multiple of {limit}"), "multiple_of"),
    "int_parsing": (_WHOLE_NUMBER, None),
    "int_type": (_WHOLE_NUMBER, None),
    "int_from_float": (_WHOLE_NUMBER, None),
    "int_parsing_size": (N_("{field} is too large"), None),
    "float_parsing": (_NUMBER, None),
    "float_type": (_NUMBER, None),
    "finite_number": (_NUMBER, None),
    "decimal_parsing": (_NUMBER, None),
    "decimal_type": (_NUMBER, None),
    "string_type": (N_("{field} must be text"), None),
    "string_too_long": (N_("{field} is longer than {limit} characters"), "max_length"),
    "string_too_short": (N_("{field} must be at least {limit} characters long"), "min_length"),
    "string_pattern_mismatch": (N_("{field} is not in the expected format"), None),
    "too_short": (N_("{field} needs at least {limit} entries"), "min_length"),
    "too_long": (N_("{field} takes at most {limit} entries"), "max_length"),
    "date_parsing": (_DATE, None),
    "date_type": (_DATE, None),
    "date_from_datetime_parsing": (_DATE, None),
    "date_from_datetime_inexact": (_DATE, None),
    "datetime_parsing": (_DATETIME, None),
    "datetime_type": (_DATETIME, None),
    "datetime_from_date_parsing": (_DATETIME, None),
    "datetime_object_invalid": (_DATETIME, None),
    "timezone_aware": (N_("{field} must include its time zone offset, such as +08:00"), None),
    "timezone_naive": (N_("{field} must not include a time zone offset"), None),
    "date_past": (N_("{field} must be in the past"), None),
    "datetime_past": (N_("{field} must be in the past"), None),
    "date_future": (N_("{field} must be in the future"), None),
    "datetime_future": (N_("{field} must be in the future"), None),
    "time_parsing": (_TIME, None),
    "time_type": (_TIME, None),
    "enum": (_CHOICE, None),
    "literal_error": (_CHOICE, None),
    "bool_parsing": (_YES_NO, None),
    "bool_type": (_YES_NO, None),
    "json_invalid": (_JSON, None),
    "json_type": (_JSON, None),
    "url_parsing": (_URL, None),
    "url_type": (_URL, None),
    "url_syntax_violation": (_URL, None),
    "url_scheme": (_URL, None),
    "url_too_long": (N_("{field} is longer than {limit} characters"), "max_length"),
    "extra_forbidden": (N_("{field} is not an expected field"), None),
    "list_type": (_SHAPE, None),
    "dict_type": (_SHAPE, None),
    "model_type": (_SHAPE, None),
    "model_attributes_type": (_SHAPE, None),
    "value_error": (NOT_ACCEPTED, None),
    "assertion_error": (NOT_ACCEPTED, None),
}


def _limit_text(value: object) -> str:
    """A limit as people write it: 100000, 0.5, 2026-11-23 (never 100000.0)."""
    if isinstance(value, float | Decimal) and value == int(value):
        return str(int(value))
    return str(value)


def validation_error(details: Mapping[str, Any], loc: Sequence[int | str] | None = None) -> InvalidInput:
    """A pydantic error (one item of `ValidationError.errors()`) as an InvalidInput in the catalogue's words.

    `loc` overrides the error's own, e.g. without FastAPI's leading "body"/"query"/"path".
    """
    message, limit_key = VALIDATION_MESSAGES.get(details["type"], (NOT_ACCEPTED, None))
    ctx = details.get("ctx") or {}
    if details["type"] == "string_too_short" and ctx.get("min_length") == 1:  # an empty required text field
        message, limit_key = N_("{field} cannot be empty"), None
    params = {"limit": _limit_text(ctx[limit_key])} if limit_key and limit_key in ctx else {}
    if limit_key and not params:  # a custom error of a known type without its ctx: say what we can
        message = NOT_ACCEPTED
    field = ".".join(str(part) for part in (details["loc"] if loc is None else loc))
    return InvalidInput(message, field=field or None, **params)


# Error classes take their message first, so extraction treats them like gettext.
EXTRACTION_KEYWORDS = ("_", "N_", "gettext", "InvalidInput", "Conflict", "NotFound", "Forbidden", "PayloadTooLarge",
                       "Unauthorized", "TooManyAttempts")
