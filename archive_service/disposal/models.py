"""Retention and disposal (002 第八条(七) 处置): the bureau's retention rule per file state, and the 销毁清册 —
drawn up by one person, signed by two others, carried out once, kept forever."""

import enum
from datetime import date, datetime

from sqlalchemy import BigInteger, Enum, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from archive_service.auth.models import User
from archive_service.db import Base, utcnow


class RetentionState(enum.StrEnum):
    """The states of a retiree after which the bureau may keep the file only for a set time: the life events
    of 002 第三十四条 that end the bureau's service to the person (dossiers/life_events.py)."""

    death = "death"
    disappearance = "disappearance"
    emigration = "emigration"

    @property
    def label(self) -> str:
        return {"death": "死亡", "disappearance": "失踪", "emigration": "出国（境）定居"}[self.value]


class RetentionRule(Base):
    """How many years after the state was recorded (its 发生日期) the bureau keeps the file. A state without
    a rule is never due: no seed names a number, so nothing is due until the bureau sets one."""

    __tablename__ = "retention_rule"

    bureau_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), primary_key=True)
    state: Mapped[RetentionState] = mapped_column(Enum(RetentionState, native_enum=False, length=20), primary_key=True)
    years: Mapped[int] = mapped_column(Integer)
    basis: Mapped[str] = mapped_column(String(200))
    set_by_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    set_at: Mapped[datetime] = mapped_column(default=utcnow)


class DisposalStatus(enum.StrEnum):
    drawn = "drawn"  # drawn up, awaiting its two signatures
    approved = "approved"  # signed by two people other than the one who drew it up
    carried_out = "carried_out"  # the files destroyed: paper off its shelf, digital objects removed

    @property
    def label(self) -> str:
        return {"drawn": "待签批", "approved": "已批准，待销毁", "carried_out": "已销毁"}[self.value]


class DisposalList(Base):
    """A 销毁清册. Kept forever: database triggers refuse DELETE (migration 0037); there is no delete path."""

    __tablename__ = "disposal_list"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)  # XC-XH-2026-001
    bureau_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    status: Mapped[DisposalStatus] = mapped_column(Enum(DisposalStatus, native_enum=False, length=20))
    reason: Mapped[str] = mapped_column(Text)  # the appraisal's conclusion: why these files may go
    drawn_by_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    drawn_at: Mapped[datetime] = mapped_column(default=utcnow)
    carried_out_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    carried_out_at: Mapped[datetime | None]

    drawn_by: Mapped[User] = relationship(foreign_keys=[drawn_by_id], lazy="joined")
    carried_out_by: Mapped[User | None] = relationship(foreign_keys=[carried_out_by_id], lazy="joined")
    entries: Mapped[list["DisposalEntry"]] = relationship(order_by="DisposalEntry.row_no", lazy="selectin")
    signatures: Mapped[list["DisposalSignature"]] = relationship(order_by="DisposalSignature.id", lazy="selectin")


class DisposalEntry(Base):
    """One file on the list, as it stood when the list was drawn up (档号, name, state, due date, volumes), and
    what carrying out did with it (the shelf slot it left, the digital objects removed). Append-only."""

    __tablename__ = "disposal_entry"
    __table_args__ = (UniqueConstraint("list_id", "row_no"), UniqueConstraint("list_id", "dossier_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("disposal_list.id"), index=True)
    row_no: Mapped[int] = mapped_column(Integer)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossier.id"), index=True)
    archival_code: Mapped[str] = mapped_column(String(64))
    retiree_name: Mapped[str] = mapped_column(String(50))
    state: Mapped[RetentionState] = mapped_column(Enum(RetentionState, native_enum=False, length=20))
    state_on: Mapped[date]  # the day of death (disappearance, emigration) as recorded
    due_on: Mapped[date]  # state_on + the rule's years
    volumes: Mapped[int] = mapped_column(Integer)
    pages: Mapped[int] = mapped_column(Integer)
    # Written when the list is carried out:
    shelf_slot: Mapped[str] = mapped_column(String(100), default="", server_default="")  # the slot it left
    objects_removed: Mapped[int | None] = mapped_column(Integer)
    bytes_removed: Mapped[int | None] = mapped_column(BigInteger)


class DisposalSignature(Base):
    """One signature (签批) of a list: who, when, with what opinion. Never changed or removed."""

    __tablename__ = "disposal_signature"
    __table_args__ = (UniqueConstraint("list_id", "signed_by_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("disposal_list.id"), index=True)
    signed_by_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    signed_at: Mapped[datetime] = mapped_column(default=utcnow)
    opinion: Mapped[str] = mapped_column(String(200))

    signed_by: Mapped[User] = relationship(lazy="joined")
