import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import TypeVar

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from sqlalchemy import delete, distinct, func
from sqlmodel import Session, col, select

from canteen.access import Role, Scope, require_admin
from canteen.auth.models import ApiToken, LoginAttempt, OperatorCanteen, User, UserCreate, UserRead, WebSession
from canteen.config import Settings, get_settings
from canteen.db import write_transaction
from canteen.errors import Conflict, InvalidInput, NotFound, TooManyAttempts, Unauthorized
from canteen.org.models import Bureau, Canteen
from canteen.security import new_secret, secret_hash

API_TOKEN_LIFETIME = timedelta(days=30)


@lru_cache
def password_hasher() -> PasswordHash:
    settings = get_settings()
    return PasswordHash((Argon2Hasher(time_cost=settings.password_time_cost,
                                      memory_cost=settings.password_memory_kib),))


@lru_cache
def _dummy_hash() -> str:
    """Verifying against a real hash for unknown users keeps their timing equal to known ones."""
    return password_hasher().hash("not-a-real-password")


def create_user(session: Session, scope: Scope, data: UserCreate, now: datetime) -> User:
    require_admin(scope)
    if data.role is Role.bureau:
        if data.bureau_id is None or session.get(Bureau, data.bureau_id) is None:
            raise InvalidInput("a bureau user needs an existing bureau", field="bureau_id")
    elif data.bureau_id is not None:
        raise InvalidInput("only bureau users are bound to a bureau", field="bureau_id")
    if data.role is Role.operator and not data.canteen_ids:
        raise InvalidInput("an operator needs at least one canteen", field="canteen_ids")
    if data.role is Role.diner and len(data.canteen_ids) > 1:
        raise InvalidInput("a diner belongs to one canteen", field="canteen_ids")
    if data.role in (Role.bureau, Role.admin) and data.canteen_ids:
        raise InvalidInput("only operators and diners are bound to canteens", field="canteen_ids")
    for canteen_id in data.canteen_ids:
        if session.get(Canteen, canteen_id) is None:
            raise InvalidInput("canteen {id} does not exist", field="canteen_ids", id=canteen_id)
    if session.exec(select(User.id).where(User.username == data.username)).first() is not None:
        raise Conflict("the username {name!r} is taken", field="username", name=data.username)
    user = User(
        username=data.username,
        display_name=data.display_name or data.username,
        password_hash=password_hasher().hash(data.password),
        role=data.role,
        bureau_id=data.bureau_id,
        canteen_id=data.canteen_ids[0] if data.role is Role.diner and data.canteen_ids else None,
        created_at=now,
    )
    session.add(user)
    session.flush()
    assert user.id is not None
    if data.role is Role.operator:
        for canteen_id in sorted(set(data.canteen_ids)):
            session.add(OperatorCanteen(user_id=user.id, canteen_id=canteen_id))
        session.flush()
    return user


def operator_canteen_ids(session: Session, user_id: int) -> list[int]:
    query = select(OperatorCanteen.canteen_id).where(OperatorCanteen.user_id == user_id)
    return sorted(session.exec(query).all())


def user_read(session: Session, user: User) -> UserRead:
    assert user.id is not None
    canteen_ids = operator_canteen_ids(session, user.id) if user.role is Role.operator else (
        [user.canteen_id] if user.canteen_id else [])
    return UserRead(id=user.id, username=user.username, display_name=user.display_name, role=user.role,
                    bureau_id=user.bureau_id, canteen_ids=canteen_ids, active=user.active)


def get_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("user {id} not found", field="user_id", id=user_id)
    return user


def list_users(session: Session, scope: Scope) -> list[User]:
    require_admin(scope)
    return list(session.exec(select(User).order_by(col(User.id))))


def set_user_active(session: Session, scope: Scope, user_id: int, active: bool) -> User:
    require_admin(scope)
    user = get_user(session, user_id)
    if user.id == scope.user_id and not active:
        raise InvalidInput("you cannot deactivate your own account", field="user_id")
    user.active = active
    session.add(user)
    if not active:
        session.exec(delete(WebSession).where(col(WebSession.user_id) == user.id))
        session.exec(delete(ApiToken).where(col(ApiToken.user_id) == user.id))
    session.flush()
    return user


def scope_for(session: Session, user: User) -> Scope:
    assert user.id is not None
    if user.role is Role.bureau:
        bureau = session.get(Bureau, user.bureau_id)
        return Scope(user_id=user.id, role=user.role, bureau_path=bureau.path if bureau else "/nowhere/")
    if user.role is Role.operator:
        return Scope(user_id=user.id, role=user.role, canteen_ids=frozenset(operator_canteen_ids(session, user.id)))
    if user.role is Role.diner:
        return Scope(user_id=user.id, role=user.role,
                     canteen_ids=frozenset([user.canteen_id]) if user.canteen_id else frozenset())
    return Scope(user_id=user.id, role=user.role)


# ---- sign-in and throttling -------------------------------------------------


@dataclass(frozen=True)
class Throttle:
    """How sign-in failures are counted and answered; the defaults are the settings' (CANTEEN_LOGIN_*)."""

    free_failures: int = 5  # of one user name from one address, before each further try waits
    longest_delay: timedelta = timedelta(minutes=15)  # the wait's cap, and the window of the address limit
    address_failures: int = 100  # from one address, all user names, within the window
    memory: timedelta = timedelta(hours=24)  # how long an attempt counts (then the prune job deletes it)
    account_lock: bool = False
    lock_failures: int = 50
    lock_addresses: int = 10

    @classmethod
    def of(cls, settings: Settings) -> "Throttle":
        return cls(free_failures=settings.login_max_failures,
                   longest_delay=timedelta(minutes=settings.login_window_minutes),
                   address_failures=settings.login_address_max_failures,
                   memory=timedelta(hours=settings.login_memory_hours), account_lock=settings.login_account_lock,
                   lock_failures=settings.login_lock_failures, lock_addresses=settings.login_lock_addresses)

    def delay(self, failures: int) -> timedelta:
        """The wait after `failures` failures of a user name from an address: none up to free_failures, then
        1 s, doubling with every further failure, at most longest_delay."""
        if failures < self.free_failures:
            return timedelta(0)
        doublings = min(failures - self.free_failures, 40)  # 2**40 s is far past any cap
        return min(timedelta(seconds=2 ** doublings), self.longest_delay)


_FAILED = col(LoginAttempt.succeeded).is_(False)


def _seconds_until(moment: datetime, now: datetime) -> int:
    return max(1, math.ceil((moment - now).total_seconds()))


def _account_locked(session: Session, username: str, now: datetime, throttle: Throttle) -> bool:
    if not throttle.account_lock:
        return False
    failures, addresses = session.exec(select(func.count(), func.count(distinct(col(LoginAttempt.client)))).where(
        LoginAttempt.username == username, _FAILED, LoginAttempt.at > now - throttle.memory)).one()
    return failures >= throttle.lock_failures and addresses >= throttle.lock_addresses


def _address_refusal(session: Session, client: str, now: datetime, throttle: Throttle) -> TooManyAttempts | None:
    """Refused while the address's failures in the window reach the limit: until the oldest that keeps them
    there ages out."""
    limiting = session.exec(select(LoginAttempt.at).where(
        LoginAttempt.client == client, _FAILED, LoginAttempt.at > now - throttle.longest_delay)
        .order_by(col(LoginAttempt.at).desc()).offset(throttle.address_failures - 1).limit(1)).first()
    if limiting is None:
        return None
    return TooManyAttempts("too many failed sign-ins from your address; try again in {seconds} seconds",
                           field="username", seconds=_seconds_until(limiting + throttle.longest_delay, now))


def _pair_refusal(session: Session, username: str, client: str, now: datetime,
                  throttle: Throttle) -> TooManyAttempts | None:
    """Refused until the delay earned by this user name's failures from this address since its last success."""
    pair = (LoginAttempt.username == username, LoginAttempt.client == client)
    last_success = session.exec(select(func.max(LoginAttempt.id)).where(
        *pair, col(LoginAttempt.succeeded).is_(True))).one()
    failures, last_failure = session.exec(select(func.count(), func.max(LoginAttempt.at)).where(
        *pair, _FAILED, LoginAttempt.at > now - throttle.memory, col(LoginAttempt.id) > (last_success or 0))).one()
    delay = throttle.delay(failures)
    if not delay or last_failure is None or now >= last_failure + delay:
        return None
    return TooManyAttempts("too many failed sign-ins; try again in {seconds} seconds", field="username",
                           seconds=_seconds_until(last_failure + delay, now))


def sign_in_refusal(session: Session, username: str, client: str, now: datetime,
                    throttle: Throttle) -> TooManyAttempts | None:
    """Why a sign-in of this user name from this client is refused before its password is even checked."""
    if _account_locked(session, username, now, throttle):
        return TooManyAttempts("this account is locked after failed sign-ins from many addresses; "
                               "an administrator can unlock it", field="username")
    return _address_refusal(session, client, now, throttle) or _pair_refusal(session, username, client, now, throttle)


def authenticate(session: Session, username: str, password: str, client: str, now: datetime,
                 throttle: Throttle) -> User:
    """Check a password, refusing early (429) while the account is locked, the address is over its limit or
    this user name must still wait at this address.

    Failures are counted in the database so every worker process sees the same count. The try is recorded as a
    failure before the (slow) password check and turned into a success after it, so tries sent in parallel
    count one another (the check and the record are one step per address). A refused try is not
    recorded: waiting out a delay is all it takes.
    """
    username, client = username[:64], client[:64]
    write_transaction(session, key=f"sign-in:{client}")
    refusal = sign_in_refusal(session, username, client, now, throttle)
    if refusal is not None:
        session.rollback()
        raise refusal
    attempt = LoginAttempt(username=username, client=client, at=now, succeeded=False)
    session.add(attempt)
    session.commit()
    user = session.exec(select(User).where(User.username == username)).first()
    valid = password_hasher().verify(password, user.password_hash if user else _dummy_hash())
    if not (user and valid and user.active):
        raise Unauthorized("wrong user name or password", field="password")
    attempt.succeeded = True
    session.add(attempt)
    session.commit()
    return user


def locked_usernames(session: Session, usernames: list[str], now: datetime, throttle: Throttle) -> set[str]:
    """Which of these accounts the optional account lock refuses now (none when the lock is off)."""
    if not throttle.account_lock or not usernames:
        return set()
    rows = session.exec(select(LoginAttempt.username).where(
        col(LoginAttempt.username).in_(usernames), _FAILED, LoginAttempt.at > now - throttle.memory)
        .group_by(col(LoginAttempt.username))
        .having(func.count() >= throttle.lock_failures)
        .having(func.count(distinct(col(LoginAttempt.client))) >= throttle.lock_addresses)).all()
    return set(rows)


def unlock_sign_in(session: Session, scope: Scope, user_id: int) -> User:
    """An administrator's unlock: the account's failed sign-ins are forgotten, which lifts its lock and its
    delays at every address."""
    require_admin(scope)
    user = get_user(session, user_id)
    session.exec(delete(LoginAttempt).where(col(LoginAttempt.username) == user.username, _FAILED))
    session.flush()
    return user


def prune_expired(session: Session, now: datetime, memory: timedelta) -> dict[str, int]:
    """Delete expired web sessions and API tokens, and sign-in attempts older than the throttle's memory."""
    return {
        "sessions": session.exec(delete(WebSession).where(col(WebSession.expires_at) <= now)).rowcount,
        "tokens": session.exec(delete(ApiToken).where(col(ApiToken.expires_at) <= now)).rowcount,
        "attempts": session.exec(delete(LoginAttempt).where(col(LoginAttempt.at) <= now - memory)).rowcount,
    }


def start_web_session(session: Session, user: User, now: datetime, lifetime: timedelta) -> str:
    token = new_secret("ses")
    assert user.id is not None
    session.add(WebSession(token_hash=secret_hash(token), user_id=user.id, created_at=now, expires_at=now + lifetime))
    session.flush()
    return token


def end_web_session(session: Session, token: str) -> None:
    session.exec(delete(WebSession).where(col(WebSession.token_hash) == secret_hash(token)))
    session.flush()


def issue_api_token(session: Session, user: User, now: datetime) -> tuple[str, datetime]:
    token = new_secret("tok")
    expires_at = now + API_TOKEN_LIFETIME
    assert user.id is not None
    session.add(ApiToken(token_hash=secret_hash(token), user_id=user.id, created_at=now, expires_at=expires_at))
    session.flush()
    return token, expires_at


def user_for_session(session: Session, token: str, now: datetime) -> User | None:
    return _user_for(session, WebSession, token, now)


def user_for_api_token(session: Session, token: str, now: datetime) -> User | None:
    return _user_for(session, ApiToken, token, now)


_SessionRow = TypeVar("_SessionRow", WebSession, ApiToken)


def _user_for(session: Session, table: type[_SessionRow], token: str, now: datetime) -> User | None:
    """The active user behind an unexpired token, in one query (every API request asks it)."""
    return session.exec(select(User).join(table, col(table.user_id) == col(User.id)).where(
        table.token_hash == secret_hash(token), table.expires_at > now, col(User.active))).first()

