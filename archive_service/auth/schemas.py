from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from archive_service.auth.models import Role


class LoginIn(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=200)
    # The second factor, where the bureau's policy asks for it: the authenticator's 6 digits, or a recovery code.
    code: str = Field("", max_length=10)
    recovery_code: str = Field("", max_length=40)


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
    password: str = Field(min_length=1, max_length=200)  # the bureau's rules are checked (auth/passwords.py)
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


class PasswordChange(BaseModel):
    current_password: str = Field(min_length=1, max_length=200)
    new_password: str = Field(min_length=1, max_length=200)


class PasswordReset(BaseModel):
    """A temporary password the security officer gives; the person changes it at the next login."""

    password: str = Field(min_length=1, max_length=200)


class SessionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    created_at: datetime
    last_seen_at: datetime | None
    expires_at: datetime
    client_address: str
    user_agent: str
    via: str


class SecurityPolicyIn(BaseModel):
    """What the security officer sets; fields left out keep their value. `log_retention_days`: null is for good."""

    two_factor_roles: list[Role] | None = None
    password_min_length: int | None = None
    password_min_classes: int | None = None
    password_max_age_days: int | None = None
    password_history: int | None = None
    change_at_first_login: bool | None = None
    idle_minutes: int | None = None
    session_hours: int | None = None
    log_retention_days: int | None = -1  # -1: not given (null means kept for good)
    hash_algorithm: str | None = None


class SecurityPolicyOut(BaseModel):
    two_factor_roles: list[Role]
    password_min_length: int
    password_min_classes: int
    password_max_age_days: int
    password_history: int
    change_at_first_login: bool
    idle_minutes: int
    session_hours: int
    log_retention_days: int | None
    hash_algorithm: str


class ControlOut(BaseModel):
    area: str
    clause: str
    name: str
    setting: str
    state: str
    ok: bool
