from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict

from canteen.auth import service
from canteen.auth.models import TokenRequest, TokenResponse, UserCreate, UserRead
from canteen.bounds import Id
from canteen.web.client import client_address
from canteen.web.deps import ApiScope, DbSession, Now

router = APIRouter(prefix="/api/v1", tags=["accounts"])


class UserActivation(BaseModel):
    model_config = ConfigDict(extra="forbid")
    active: bool


@router.post("/auth/token", response_model=TokenResponse)
def create_token(body: TokenRequest, request: Request, session: DbSession, now: Now) -> TokenResponse:
    settings = request.app.state.settings
    user = service.authenticate(session, body.username, body.password,
                                client_address(request, settings.trusted_proxies), now, service.Throttle.of(settings))
    token, expires_at = service.issue_api_token(session, user, now)
    session.commit()
    return TokenResponse(access_token=token, expires_at=expires_at)


@router.get("/me", response_model=UserRead)
def me(scope: ApiScope, session: DbSession) -> UserRead:
    return service.user_read(session, service.get_user(session, scope.user_id))


@router.get("/users", response_model=list[UserRead])
def list_users(scope: ApiScope, session: DbSession) -> list[UserRead]:
    return [service.user_read(session, user) for user in service.list_users(session, scope)]


@router.post("/users", response_model=UserRead, status_code=201)
def create_user(body: UserCreate, scope: ApiScope, session: DbSession, now: Now) -> UserRead:
    user = service.create_user(session, scope, body, now)
    session.commit()
    return service.user_read(session, user)


@router.patch("/users/{user_id}", response_model=UserRead)
def set_user_active(user_id: Id, body: UserActivation, scope: ApiScope, session: DbSession) -> UserRead:
    user = service.set_user_active(session, scope, user_id, body.active)
    session.commit()
    return service.user_read(session, user)


@router.post("/users/{user_id}/unlock", response_model=UserRead)
def unlock_sign_in(user_id: Id, scope: ApiScope, session: DbSession) -> UserRead:
    """Forget the account's failed sign-ins (admin): lifts the account lock and its delays at every address."""
    user = service.unlock_sign_in(session, scope, user_id)
    session.commit()
    return service.user_read(session, user)
