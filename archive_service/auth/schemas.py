from datetime import datetime

from pydantic import BaseModel, Field

from archive_service.auth.models import Role


class LoginIn(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=200)


class TokenOut(BaseModel):
    token: str
    token_type: str = "bearer"


class UserOut(BaseModel):
    id: int
    username: str
    display_name: str
    role: Role
    organisation_id: int
    organisation_name: str


class UserIn(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    display_name: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=8, max_length=200)
    role: Role
    organisation_id: int


class UserChange(BaseModel):
    """What an administrator may change on an account: its role, and whether it may sign in."""

    role: Role | None = None
    active: bool | None = None


class SessionInfo(BaseModel):
    user: UserOut
    expires_at: datetime | None = None
