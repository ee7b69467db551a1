from datetime import datetime, timedelta
from functools import lru_cache
from typing import TypeVar

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from sqlalchemy import delete, func
from sqlmodel import Session, col, select

from canteen.access import Role, Scope, require_admin
from canteen.auth.models import ApiToken, LoginAttempt, OperatorCanteen, User, UserCreate, UserRead, WebSession
from canteen.config import get_settings
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


def authenticate(session: Session, username: str, password: str, client: str, now: datetime,
                 max_failures: int, window: timedelta) -> User:
    """Check a password, refusing early once a user name or a client has failed too often.

    Failures are counted in the database so every worker process sees the same count.
    """
    since = now - window
    failures_by_name = session.exec(select(func.count()).select_from(LoginAttempt).where(
        LoginAttempt.username == username, col(LoginAttempt.succeeded).is_(False), LoginAttempt.at >= since)).one()
    failures_by_client = session.exec(select(func.count()).select_from(LoginAttempt).where(
        LoginAttempt.client == client, col(LoginAttempt.succeeded).is_(False), LoginAttempt.at >= since)).one()
    if failures_by_name >= max_failures or failures_by_client >= max_failures * 4:
        raise TooManyAttempts("too many failed sign-ins; try again in {minutes} minutes",
                              field="username", minutes=int(window.total_seconds() // 60))
    user = session.exec(select(User).where(User.username == username)).first()
    valid = password_hasher().verify(password, user.password_hash if user else _dummy_hash())
    succeeded = bool(user and valid and user.active)
    session.add(LoginAttempt(username=username[:64], client=client[:64], at=now, succeeded=succeeded))
    session.commit()
    if not succeeded:
        raise Unauthorized("wrong user name or password", field="password")
    assert user is not None  # succeeded needs a user
    return user


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
    row = session.exec(select(table).where(table.token_hash == secret_hash(token))).first()
    if row is None or row.expires_at <= now:
        return None
    user = session.get(User, row.user_id)
    return user if user is not None and user.active else None

