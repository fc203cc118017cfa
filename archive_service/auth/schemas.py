from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

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


class CertificateIn(BaseModel):
    title: str = ""  # e.g. 档案管理岗位培训合格证书
    number: str = ""  # 证书编号
    issued_on: date
    expires_on: date | None = None


class CertificateOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    title: str
    number: str
    issued_on: date
    expires_on: date | None
    recorded_at: datetime


class QualificationPolicy(BaseModel):
    required: bool  # archivists must hold a valid certificate (大政办发〔2017〕49号 第十七条)
