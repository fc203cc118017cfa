"""The search outbox: dossiers whose indexed document must be rewritten."""

from datetime import datetime

from sqlalchemy import BigInteger, Integer
from sqlalchemy.orm import Mapped, mapped_column

from archive_service.db import Base, utcnow


class SearchOutbox(Base):
    """One row per change to a dossier, written in the same transaction as the change.

    No foreign key: a deleted dossier's row must outlive it so the index drops the dossier too.
    """

    __tablename__ = "search_outbox"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    dossier_id: Mapped[int] = mapped_column(Integer, index=True)
    queued_at: Mapped[datetime] = mapped_column(default=utcnow)
