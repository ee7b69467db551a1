from datetime import datetime

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict
from pydantic import Field as PydanticField
from sqlmodel import Field, SQLModel

from canteen.access import Role
from canteen.bounds import Id
from canteen.dbtypes import UTCDateTime, enum_type


class User(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64, sa_column_kwargs={"unique": True})
    display_name: str = Field(max_length=100)
    password_hash: str = Field(max_length=255)
    role: Role = Field(sa_type=enum_type(Role))
    # A bureau user sees this bureau and everything under it.
    bureau_id: int | None = Field(default=None, foreign_key="bureau.id", index=True)
    # A diner's own canteen (where they book and eat).
    canteen_id: int | None = Field(default=None, foreign_key="canteen.id", index=True)
    active: bool = True
    created_at: datetime = Field(sa_type=UTCDateTime)


class OperatorCanteen(SQLModel, table=True):
    user_id: int = Field(foreign_key="user.id", primary_key=True, ondelete="CASCADE")
    canteen_id: int = Field(foreign_key="canteen.id", primary_key=True, ondelete="CASCADE")


class WebSession(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, sa_column_kwargs={"unique": True})
    user_id: int = Field(foreign_key="user.id", index=True, ondelete="CASCADE")
    created_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)


class ApiToken(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, sa_column_kwargs={"unique": True})
    user_id: int = Field(foreign_key="user.id", index=True, ondelete="CASCADE")
    created_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)


class LoginAttempt(SQLModel, table=True):
    __table_args__ = (sa.Index("ix_loginattempt_username_at", "username", "at"),
                      sa.Index("ix_loginattempt_client_at", "client", "at"))

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64)
    client: str = Field(max_length=64)
    at: datetime = Field(sa_type=UTCDateTime)
    succeeded: bool


# ---- API schemas -------------------------------------------------------------


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str = PydanticField(min_length=3, max_length=64, pattern=r"^[A-Za-z0-9_.@-]+$")
    display_name: str | None = PydanticField(default=None, max_length=100)
    password: str = PydanticField(min_length=8, max_length=128)
    role: Role
    bureau_id: Id | None = None
    canteen_ids: list[Id] = []


class UserRead(BaseModel):
    id: int
    username: str
    display_name: str
    role: Role
    bureau_id: int | None
    canteen_ids: list[int]
    active: bool


class TokenRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str = PydanticField(min_length=1, max_length=64)
    password: str = PydanticField(min_length=1, max_length=128)


class TokenResponse(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_at: datetime
