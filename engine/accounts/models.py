"""The contracts of people: users, teams, login answers, and what admins and users send."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from engine.auth.keys import Role
from engine.auth.scopes import Scope

USERNAME = r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,99}$"
PASSWORD_MAX = 256


class User(BaseModel):
    id: str
    username: str
    role: Role
    account_id: str
    team_id: str | None = None


class Team(BaseModel):
    id: str
    name: str
    account_id: str
    created_at: datetime


class LoginRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=1, max_length=PASSWORD_MAX)


class LoginAnswer(BaseModel):
    token: str = Field(description="Send as 'Authorization: Bearer <token>'.")
    expires_at: datetime
    user: User


class SessionAnswer(BaseModel):
    user: User
    expires_at: datetime | None = Field(description="None when the caller is a key or auth is off.")


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(pattern=USERNAME, description="Letters, digits and . _ @ + -, up to 100.")
    password: str = Field(max_length=PASSWORD_MAX)
    role: Role = Role.USER
    team_id: str | None = None


class UserUpdate(BaseModel):
    """Only the fields sent change; ``team_id: null`` takes the user out of their team."""

    model_config = ConfigDict(extra="forbid")

    role: Role | None = None
    team_id: str | None = None


class PasswordChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    current_password: str = Field(min_length=1, max_length=PASSWORD_MAX)
    new_password: str = Field(max_length=PASSWORD_MAX)


class PasswordReset(BaseModel):
    model_config = ConfigDict(extra="forbid")

    new_password: str = Field(max_length=PASSWORD_MAX)


class TeamWrite(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)


class KeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    scopes: list[Scope] | None = Field(default=None, max_length=len(Scope),
                                       description="None: every scope your role allows.")
    credit_limit: float | None = Field(default=None, gt=0, le=1_000_000,
                                       description="USD the key may spend (usage ledger) before it answers 402.")
    expires_days: int | None = Field(default=None, ge=1, le=3650)


class KeyCreated(BaseModel):
    key: str = Field(description="The secret, shown this once.")
    id: str
    name: str
    prefix: str
    scopes: list[str] | None
    credit_limit: float | None
    expires_at: datetime | None
