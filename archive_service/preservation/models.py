"""Fixity checks of stored objects and the record of the rare, audited deletions."""

from datetime import datetime

from sqlalchemy import ColumnElement, ForeignKey, Integer, String, Text, select
from sqlalchemy.orm import Mapped, mapped_column

from archive_service.db import Base, utcnow
from archive_service.dossiers.models import DigitalObject


class FixityRun(Base):
    """One pass of `archive fixity check`; `last_key` lets an interrupted run resume."""

    __tablename__ = "fixity_run"

    id: Mapped[int] = mapped_column(primary_key=True)
    store: Mapped[str] = mapped_column(String(200))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    sample_size: Mapped[int | None] = mapped_column(Integer)  # None: every object
    last_key: Mapped[str] = mapped_column(String(200), default="")
    checked: Mapped[int] = mapped_column(Integer, default=0)
    failures: Mapped[int] = mapped_column(Integer, default=0)


class FixityCheck(Base):
    __tablename__ = "fixity_check"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("fixity_run.id"), index=True)
    storage_key: Mapped[str] = mapped_column(String(200), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    outcome: Mapped[str] = mapped_column(String(10))  # ok | mismatch | missing
    expected_sha256: Mapped[str] = mapped_column(String(64))
    actual_sha256: Mapped[str | None] = mapped_column(String(64))

    @property
    def outcome_label(self) -> str:
        return FIXITY_OUTCOMES.get(self.outcome, self.outcome)


FIXITY_OUTCOMES = {"ok": "完好", "missing": "缺失", "mismatch": "校验值不符"}  # what people read for each outcome


class ObjectDeletion(Base):
    __tablename__ = "object_deletion"

    id: Mapped[int] = mapped_column(primary_key=True)
    storage_key: Mapped[str] = mapped_column(String(200), index=True)
    store: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    reason: Mapped[str] = mapped_column(Text)


def still_stored() -> ColumnElement[bool]:
    """Objects the store still holds: not destroyed (a disposed file's, disposal/service.py; an audited deletion).
    Their records stay, as the record of what was destroyed; nothing asks the store for them."""
    return DigitalObject.storage_key.not_in(select(ObjectDeletion.storage_key))
