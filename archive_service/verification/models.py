"""The corrections layer: every acceptance, correction and review of one reading, never changed.

A reading is a fact value or an OCR line of a digitised page. It is anchored to the scan it was read
from (the master's SHA-256 and frame) and its box on the page, not to a page number or a line's index, so
a re-run of the OCR or a rebuilt copy (pages moved by 材料补充) finds its corrections again: they stay in
force over whatever the engine reads next."""

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from archive_service.auth.models import User
from archive_service.db import Base, utcnow


class Step(enum.StrEnum):
    accepted = "accepted"  # 校对: the reading is right as read
    corrected = "corrected"  # 校对: the reading is wrong; `after` is what the page says
    reviewed = "reviewed"  # 复核: a second person confirms the value as it stands


class ReadingCheck(Base):
    """One step on one reading. `version` counts the reading's steps (1, 2, …): a step names the version it
    saw, and (dossier, reading, version) is unique, so two people acting on one value at the same moment
    cannot both be recorded — the later one is told to look again."""

    __tablename__ = "reading_check"
    __table_args__ = (UniqueConstraint("dossier_id", "reading", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossier.id"), index=True)
    # "{source_sha256}:{frame}:{target}:{x0},{y0},{x1},{y1}" as first checked: the chain's name
    reading: Mapped[str] = mapped_column(String(120))
    source_sha256: Mapped[str] = mapped_column(String(64))
    source_frame: Mapped[int] = mapped_column(Integer)
    target: Mapped[str] = mapped_column(String(20))  # "line", or a fact key of digitise.facts.PAGE_FACT_KINDS
    x0: Mapped[int] = mapped_column(Integer)
    y0: Mapped[int] = mapped_column(Integer)
    x1: Mapped[int] = mapped_column(Integer)
    y1: Mapped[int] = mapped_column(Integer)
    page: Mapped[int] = mapped_column(Integer)  # the page of the copy it was checked on (for the record)
    version: Mapped[int] = mapped_column(Integer)
    step: Mapped[Step] = mapped_column(String(10))
    before: Mapped[str] = mapped_column(Text)  # the value as it stood (the machine's reading at first)
    after: Mapped[str] = mapped_column(Text)  # the value as it stands after this step
    actor_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    at: Mapped[datetime] = mapped_column(default=utcnow)

    actor: Mapped[User] = relationship(lazy="joined")
