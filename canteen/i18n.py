"""Translations from the Babel catalogues in web/locales; English msgids, zh-CN by default."""
from functools import lru_cache
from io import BytesIO
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

from canteen.config import LANGUAGES
from canteen.errors import CanteenError

LOCALES_DIR = Path(__file__).parent / "web" / "locales"


def N_(message: str) -> str:
    """Mark a string for extraction; it is translated where it is shown."""
    return message


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
    return gettext(error.reason, language).format(field=error.field, **error.params)


def pick_language(requested: str | None, default: str) -> str:
    return requested if requested in LANGUAGES else default


# Error classes take their message first, so extraction treats them like gettext.
EXTRACTION_KEYWORDS = ("_", "N_", "gettext", "InvalidInput", "Conflict", "NotFound", "Forbidden", "PayloadTooLarge",
                       "Unauthorized", "TooManyAttempts")
