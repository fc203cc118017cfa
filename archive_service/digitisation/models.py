"""The page-count check of a digitised file against its register (DA/T 31: the pages scanned are compared with
the page count on record; a mismatch is rescanned, or its cause noted)."""

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from archive_service.auth.models import User
from archive_service.db import Base, utcnow


class PageCountCheck(Base):
    """One digitised copy whose page count did not agree with the file's count on record. Open (resolved_at
    empty) it keeps the file on the digitisation backlog; it is closed by a new digitisation or by an
    archivist who counted the paper and says why the counts differ."""

    __tablename__ = "page_count_check"

    id: Mapped[int] = mapped_column(primary_key=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossier.id"), index=True)
    use_copy_id: Mapped[int] = mapped_column(ForeignKey("digital_object.id"))
    registered: Mapped[int] = mapped_column(Integer)  # the file's page count on record when it was digitised
    scanned: Mapped[int] = mapped_column(Integer)
    with_content: Mapped[int] = mapped_column(Integer)  # scanned pages that are not blank
    found_at: Mapped[datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[datetime | None]
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    resolution: Mapped[str | None] = mapped_column(String(20))  # redigitised | explained
    verified_pages: Mapped[int | None] = mapped_column(Integer)  # what the archivist counted on paper
    reason: Mapped[str] = mapped_column(Text, default="", server_default="")

    resolved_by: Mapped[User | None] = relationship(lazy="joined")
