from functools import lru_cache
from ipaddress import IPv4Network, IPv6Network
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from canteen.errors import InvalidInput

PROJECT_ROOT = Path.cwd()
LANGUAGES = ("zh_CN", "en")
# Good enough for `canteen demo` on a laptop, refused by the server anywhere else (see require_secret_key).
DEFAULT_SECRET_KEY = "change-me-in-production"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CANTEEN_", env_file=".env", extra="ignore")

    database_url: str = f"sqlite:///{PROJECT_ROOT / 'var' / 'canteen.db'}"
    # A streaming read replica of that PostgreSQL database, for the read-heavy bureau pages (ReadSession in
    # canteen/web/deps.py); empty: every page reads the primary.
    database_replica_url: str = ""
    secret_key: str = DEFAULT_SECRET_KEY
    timezone: str = "Asia/Shanghai"
    language: str = "zh_CN"
    # Cookies marked Secure only make sense behind HTTPS; local demos run plain HTTP.
    secure_cookies: bool = False
    # Every number has an upper bound too: a value past it would only fail later, deep inside (a date overflow).
    session_hours: int = Field(default=12, ge=1, le=24 * 366)
    # Sign-in throttling (canteen/auth/service.py): after this many failures of one user name from one address,
    # each further try from there waits twice as long as the one before (1 s, 2 s, 4 s, …, at most the window)
    # until a sign-in succeeds; the owner at another address is not slowed by a stranger's guesses.
    login_max_failures: int = Field(default=5, ge=1, le=10_000)
    login_window_minutes: int = Field(default=15, ge=1, le=24 * 60)
    # Failures from one address (all user names) within the window before it is refused until they age out.
    login_address_max_failures: int = Field(default=100, ge=1, le=1_000_000)
    # Sign-in attempts are counted this long, then pruned (the prune-expired job).
    login_memory_hours: int = Field(default=24, ge=1, le=24 * 366)
    # Optional lock of an account that failed this often from this many addresses within the memory, until an
    # administrator unlocks it (or the failures age out).
    login_account_lock: bool = False
    login_lock_failures: int = Field(default=50, ge=1, le=1_000_000)
    login_lock_addresses: int = Field(default=10, ge=1, le=1_000_000)
    # Reverse proxies whose X-Forwarded-For is believed (addresses or networks, comma-separated).
    trusted_proxies: Annotated[list[IPv4Network | IPv6Network], NoDecode] = []
    # Argon2id cost; the defaults follow OWASP's guidance. Test suites lower them to stay fast.
    password_time_cost: int = Field(default=3, ge=1, le=100)
    password_memory_kib: int = Field(default=65536, ge=64, le=2**22)
    # Request bodies are refused (413) past these sizes before they are read: forms and JSON (a station's
    # batch of 1,000 weighings is about 200 KB), and multipart uploads (evidence files of up to 10 MB each).
    max_body_bytes: int = Field(default=2**20, gt=0, le=2**30)
    max_upload_bytes: int = Field(default=32 * 2**20, gt=0, le=2**32)
    # Background jobs (rollups, recurring bookings, …) in the server process; see canteen/jobs/scheduler.py.
    scheduler: bool = True
    # "json": the server, the scheduler and the CLI log one JSON object a line (canteen/logs.py).
    log_format: Literal["text", "json"] = "text"
    # A bearer token that may read /metrics from anywhere; without it only this machine may (canteen/web/metrics.py).
    metrics_token: str = ""

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        return [part.strip() for part in value.split(",") if part.strip()] if isinstance(value, str) else value

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a name too long for a file name
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
