"""What the archivist decided about a page the misfiled-page check flagged (疑似他人材料): it belongs here
(checked), or it is another person's and was taken out of this file (removed). Anchored to the page's scan
(the master's SHA-256 and frame), not its page number, so the decision holds in every later copy of the file."""

import enum
from datetime import datetime

from sqlalchemy import Enum, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from archive_service.auth.models import User
from archive_service.db import Base, utcnow


class PageOutcome(enum.StrEnum):
    checked = "checked"  # 已核对：属本人材料
    removed = "removed"  # 已移出：他人材料，不在本卷

    @property
    def label(self) -> str:
        return {"checked": "已核对，属本人材料", "removed": "已移出本卷（他人材料）"}[self.value]


class PageCheck(Base):
    """One decision on one flagged page. Never changed: a page is decided once."""

    __tablename__ = "page_check"
    __table_args__ = (UniqueConstraint("dossier_id", "source_sha256", "source_frame"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossier.id"), index=True)
    source_sha256: Mapped[str] = mapped_column(String(64))  # the master the page was scanned into
    source_frame: Mapped[int] = mapped_column(Integer)  # 1-based frame in that master
    outcome: Mapped[PageOutcome] = mapped_column(Enum(PageOutcome, native_enum=False, length=20))
    reason: Mapped[str] = mapped_column(Text)  # what the archivist checked, or where the page belongs
    page: Mapped[int] = mapped_column(Integer)  # the page number in the copy the flag was seen in
    copy_version: Mapped[int] = mapped_column(Integer)  # … that use copy's version
    flags: Mapped[str] = mapped_column(Text)  # the check's words, as the archivist saw them
    material: Mapped[str] = mapped_column(String(250), default="")  # the catalogue entry the page was in
    catalogue_change: Mapped[str] = mapped_column(Text, default="")  # a removal: what it did to the catalogue
    actor_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    at: Mapped[datetime] = mapped_column(default=utcnow)

    actor: Mapped[User] = relationship(lazy="joined")
