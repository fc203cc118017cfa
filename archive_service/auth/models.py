"""Users, their roles, sessions and login attempts; the bureau's security policy; the second factor."""

import enum
from datetime import date, datetime

from sqlalchemy import JSON, Boolean, Enum, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from archive_service.db import Base, utcnow
from archive_service.organisations.models import Organisation
from archive_service.protection import Protected


class Role(enum.StrEnum):
    intake_clerk = "intake_clerk"
    archivist = "archivist"
    approver = "approver"
    requester = "requester"  # e.g. social-insurance agency staff
    auditor = "auditor"  # 审计员: reads the log of everyone's actions, changes nothing
    administrator = "administrator"  # 系统管理员: configures the system; no accounts, no files
    security_officer = "security_officer"  # 安全管理员: accounts, roles, the security policy

    @property
    def label(self) -> str:
        return ROLE_LABELS[self]


ROLE_LABELS = {
    Role.intake_clerk: "接收登记员",
    Role.archivist: "档案管理员",
    Role.approver: "审批人",
    Role.requester: "查阅申请人",
    Role.auditor: "审计员",
    Role.administrator: "系统管理员",
    Role.security_officer: "安全管理员",
}
# 三员分立 (GB/T 22239-2019 8.1.4.2, 8.1.10): each account holds at most one of these, and none of them is
# given by the one who holds it (auth/service.change_account refuses one's own account).
THREE_OFFICERS = (Role.administrator, Role.security_officer, Role.auditor)


class User(Base):
    __tablename__ = "app_user"  # "user" is reserved in PostgreSQL

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[Role] = mapped_column(Enum(Role, native_enum=False, length=20))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Passwords (auth/passwords.py): set by someone else (a new account, a reset) → changed at first login.
    password_changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    # The second factor (auth/two_factor.py): the TOTP secret once confirmed, one being enrolled, and the last
    # time step accepted (a code is good once).
    totp_secret: Mapped[str | None] = mapped_column(Protected(searchable=False))
    totp_pending_secret: Mapped[str | None] = mapped_column(Protected(searchable=False))
    totp_last_step: Mapped[int | None] = mapped_column(Integer)
    totp_enrolled_at: Mapped[datetime | None]

    organisation: Mapped[Organisation] = relationship(lazy="joined")


class SessionStage(enum.StrEnum):
    second_factor = "second_factor"  # the password was right; the code is still to come (web login only)
    signed_in = "signed_in"


class SessionToken(Base):
    """One login: the web cookie and the API bearer token carry the same opaque token."""

    __tablename__ = "session_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)  # the token itself is never stored
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]  # the absolute limit (the bureau's policy)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    stage: Mapped[SessionStage] = mapped_column(
        Enum(SessionStage, native_enum=False, length=20), default=SessionStage.signed_in
    )
    last_seen_at: Mapped[datetime | None]  # the idle timeout counts from here
    client_address: Mapped[str] = mapped_column(String(64), default="")
    user_agent: Mapped[str] = mapped_column(String(200), default="")
    via: Mapped[str] = mapped_column(String(10), default="web")  # web | api
    ended_at: Mapped[datetime | None]
    ended_reason: Mapped[str] = mapped_column(String(100), default="")  # 退出, 超时, 被安全管理员终止 …

    user: Mapped[User] = relationship(lazy="joined")


class PasswordHistory(Base):
    """Earlier password hashes of an account: a new password may not repeat the last few (the policy's
    number)."""

    __tablename__ = "password_history"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    set_at: Mapped[datetime] = mapped_column(default=utcnow)


class RecoveryCode(Base):
    """A one-time code that stands in for the authenticator (a lost phone); only its SHA-256 is kept (80 random
    bits: no dictionary to try)."""

    __tablename__ = "recovery_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    code_sha256: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[datetime | None]


class SecurityPolicy(Base):
    """A bureau's security policy (等保 2.0 level 3), set by its security officer; every change is on the log.
    A bureau without a row has the presets below. Accounts of agencies and communities follow the strictest
    bureau policy of the installation (their people read every bureau's files that grants them)."""

    __tablename__ = "security_policy"

    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), primary_key=True)
    two_factor_roles: Mapped[list[str]] = mapped_column(JSON, default=list)  # roles that sign in with a code
    password_min_length: Mapped[int] = mapped_column(Integer, default=8)
    password_min_classes: Mapped[int] = mapped_column(Integer, default=3)  # of: lower, upper, digits, symbols
    password_max_age_days: Mapped[int] = mapped_column(Integer, default=90)  # 0: never expires
    password_history: Mapped[int] = mapped_column(Integer, default=5)  # earlier passwords not to repeat
    change_at_first_login: Mapped[bool] = mapped_column(Boolean, default=True)
    idle_minutes: Mapped[int] = mapped_column(Integer, default=30)
    session_hours: Mapped[int] = mapped_column(Integer, default=8)  # absolute limit of one login
    log_retention_days: Mapped[int | None] = mapped_column(Integer, default=None)  # None: kept for good
    hash_algorithm: Mapped[str] = mapped_column(String(10), default="sha256")  # sha256 | sm3: log chain, fixity
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))


class RequesterStanding(Base):
    """A bureau's standing for a requester of an agency or community, a body several bureaus serve (auth/standing.py):
    whether that bureau serves them now, and whether it is the bureau that created the account (its home, which
    alone resets the account's password and code). No row: that bureau has not granted the account."""

    __tablename__ = "requester_standing"

    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), primary_key=True)
    bureau_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), primary_key=True)
    active: Mapped[bool] = mapped_column(Boolean)
    home: Mapped[bool] = mapped_column(Boolean, default=False)
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))


class LoginAttempt(Base):
    __tablename__ = "login_attempt"
    __table_args__ = (Index("ix_login_attempt_lookup", "username", "client_address", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64))
    client_address: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    succeeded: Mapped[bool] = mapped_column(Boolean)


class StaffCertificate(Base):
    """A training or post certificate a member of staff holds (004 第十七条: 岗前培训、考核，持证上岗).
    A bureau whose policy requires it gives the archivist role only to holders of a valid one."""

    __tablename__ = "staff_certificate"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    title: Mapped[str] = mapped_column(String(100))  # e.g. 档案管理岗位培训合格证书
    number: Mapped[str] = mapped_column(String(60))  # 证书编号
    issued_on: Mapped[date]
    expires_on: Mapped[date | None]
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)

    def valid_on(self, day: date) -> bool:
        return self.issued_on <= day and (self.expires_on is None or day <= self.expires_on)


class DataKeyRecord(Base):
    """A data key this database has known: its id and an HMAC check value (never the key). The current key must be
    one of these and not retired; a backup carries them, so a restore under another key is named at once."""

    __tablename__ = "data_key"

    key_id: Mapped[str] = mapped_column(String(8), primary_key=True)
    check_value: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    retired_at: Mapped[datetime | None]
