"""The zh-CN catalogue covers every string the code and templates show, placeholders intact."""
import re
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

import canteen
from canteen.errors import NotFound
from canteen.i18n import EXTRACTION_KEYWORDS, LOCALES_DIR, error_text, gettext

PACKAGE = Path(canteen.__file__).parent
METHODS = [("**.py", "python"), ("**/templates/**.html", "jinja2")]
PLACEHOLDER = re.compile(r"\{[a-z_]+(?:![rs])?\}")


def extracted_messages() -> set[str]:
    keywords = {keyword: None for keyword in EXTRACTION_KEYWORDS}
    return {message for _, _, message, _, _ in extract_from_dir(str(PACKAGE), METHODS, keywords=keywords)
            if isinstance(message, str)}


def catalogue() -> dict[str, str]:
    with (LOCALES_DIR / "zh_CN" / "LC_MESSAGES" / "messages.po").open("rb") as po_file:
        return {message.id: message.string for message in read_po(po_file) if message.id}


def test_every_shown_string_is_translated():
    translated = {msgid for msgid, msgstr in catalogue().items() if msgstr}
    assert sorted(extracted_messages() - translated) == []


def test_translations_keep_their_placeholders():
    broken = {msgid: msgstr for msgid, msgstr in catalogue().items()
              if sorted(PLACEHOLDER.findall(msgid)) != sorted(PLACEHOLDER.findall(msgstr))}
    assert broken == {}


def test_errors_are_shown_in_the_chosen_language():
    error = NotFound("canteen {id} not found", field="canteen_id", id=7)
    assert error_text(error, "en") == "canteen 7 not found"
    assert "7" in error_text(error, "zh_CN") and "食堂" in error_text(error, "zh_CN")
    assert gettext("Sign in", "en") == "Sign in" and gettext("Sign in", "zh_CN") == "登录"
