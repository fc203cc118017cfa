"""Users, their roles, sessions and login attempts."""

import enum
from datetime import date, datetime

from sqlalchemy import Boolean, Enum, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from archive_service.db import Base, utcnow
from archive_service.organisations.models import Organisation


class Role(enum.StrEnum):
    intake_clerk = "intake_clerk"
    archivist = "archivist"
    approver = "approver"
    requester = "requester"  # e.g. social-insurance agency staff
    auditor = "auditor"
    administrator = "administrator"

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
}


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

    organisation: Mapped[Organisation] = relationship(lazy="joined")


class SessionToken(Base):
    """One login: the web cookie and the API bearer token carry the same opaque token."""

    __tablename__ = "session_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)  # the token itself is never stored
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)

    user: Mapped[User] = relationship(lazy="joined")


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
