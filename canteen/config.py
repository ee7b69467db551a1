from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from canteen.errors import InvalidInput

PROJECT_ROOT = Path.cwd()
LANGUAGES = ("zh_CN", "en")
# Good enough for `canteen demo` on a laptop, refused by the server anywhere else (see require_secret_key).
DEFAULT_SECRET_KEY = "change-me-in-production"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CANTEEN_", env_file=".env", extra="ignore")

    database_url: str = f"sqlite:///{PROJECT_ROOT / 'var' / 'canteen.db'}"
    secret_key: str = DEFAULT_SECRET_KEY
    timezone: str = "Asia/Shanghai"
    language: str = "zh_CN"
    # Cookies marked Secure only make sense behind HTTPS; local demos run plain HTTP.
    secure_cookies: bool = False
    session_hours: int = 12
    login_max_failures: int = 5
    login_window_minutes: int = 15
    # Argon2id cost; the defaults follow OWASP's guidance. Test suites lower them to stay fast.
    password_time_cost: int = 3
    password_memory_kib: int = 65536
    # Background jobs (rollups, recurring bookings, …) in the server process; see canteen/jobs/scheduler.py.
    scheduler: bool = True

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown timezone {value!r}") from None
        return value

    @field_validator("language")
    @classmethod
    def _supported_language(cls, value: str) -> str:
        if value not in LANGUAGES:
            raise ValueError(f"language must be one of {', '.join(LANGUAGES)}")
        return value


def require_secret_key(settings: Settings) -> None:
    """The server's check before it starts (the demo's server skips it): a secret key of its own."""
    if not settings.secret_key.strip() or settings.secret_key == DEFAULT_SECRET_KEY:
        # Named in the message itself: uvicorn pointed at the factory shows only the message.
        raise InvalidInput("CANTEEN_SECRET_KEY is empty or the default, which only serves the demo; set it to a long "
                           "random value, e.g. the output of "
                           "`python3 -c 'import secrets; print(secrets.token_urlsafe(32))'`")


@lru_cache
def get_settings() -> Settings:
    return Settings()
