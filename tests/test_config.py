"""Settings come from CANTEEN_* environment variables and are validated."""
import pytest
from pydantic import ValidationError

from canteen.config import Settings


def test_defaults_are_sqlite_shanghai_chinese(monkeypatch):
    for name in ("CANTEEN_DATABASE_URL", "CANTEEN_TIMEZONE", "CANTEEN_LANGUAGE"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings(_env_file=None)
    assert settings.database_url.startswith("sqlite:///") and settings.database_url.endswith("var/canteen.db")
    assert (settings.timezone, settings.language) == ("Asia/Shanghai", "zh_CN")


def test_environment_overrides(monkeypatch):
    monkeypatch.setenv("CANTEEN_DATABASE_URL", "postgresql+psycopg://u@db/canteen")
    monkeypatch.setenv("CANTEEN_LANGUAGE", "en")
    settings = Settings(_env_file=None)
    assert settings.database_url == "postgresql+psycopg://u@db/canteen" and settings.language == "en"


@pytest.mark.parametrize("name, value", [("CANTEEN_TIMEZONE", "Mars/Olympus"), ("CANTEEN_LANGUAGE", "fr")])
def test_bad_values_are_refused(monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError) as error:
        Settings(_env_file=None)
    assert name.removeprefix("CANTEEN_").lower() in str(error.value)
