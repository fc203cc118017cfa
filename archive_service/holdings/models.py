"""The holdings import (存量档案导入): a bureau's old ledger, the column mapping it was read with, every problem
the check found by sheet, row and column, and for each file it brought in what the ledger said that has no
other home (原工作单位, 备注, values as written before they were read: a 15-digit ID, a partial birth date)."""

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Enum, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from archive_service.db import Base, utcnow


class ImportState(enum.StrEnum):
    uploaded = "uploaded"  # read: sheets, header rows and proposed columns; not yet checked
    checking = "checking"  # the dry run is at work (a job)
    checked = "checked"  # every problem listed; the person chooses how to save
    saving = "saving"
    saved = "saved"  # the files are in custody (all, or the good rows)
    refused = "refused"  # all-or-nothing and a problem found at saving: nothing was saved
    cancelled = "cancelled"

    @property
    def label(self) -> str:
        return {
            "uploaded": "待检查",
            "checking": "检查中",
            "checked": "已检查",
            "saving": "导入中",
            "saved": "已导入",
            "refused": "未导入（有问题）",
            "cancelled": "已放弃",
        }[self.value]


class HoldingsImport(Base):
    """One uploaded ledger and its way through check and save. The ledger's bytes are kept in the row (read
    only when needed): what was imported can be shown again, and a backup holds it with the records."""

    __tablename__ = "holdings_import"

    id: Mapped[int] = mapped_column(primary_key=True)
    bureau_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    filename: Mapped[str] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    state: Mapped[ImportState] = mapped_column(Enum(ImportState, native_enum=False, length=20))
    # Per sheet: name, header row(s), the columns' header texts, the mapping {field: column index}, skipped.
    sheets: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    # The person's choices: renumber, unknown enterprises mapped or created, missing units agreed …
    decisions: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # What the last check or save found: counts, unknown enterprises, missing rooms and units …
    summary: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    job_id: Mapped[int | None] = mapped_column(ForeignKey("job.id"))
    checked_at: Mapped[datetime | None]
    saved_at: Mapped[datetime | None]
    saved_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))


class HoldingsProblem(Base):
    """One problem of one ledger row, found by the last check (replaced by the next)."""

    __tablename__ = "holdings_problem"

    id: Mapped[int] = mapped_column(primary_key=True)
    import_id: Mapped[int] = mapped_column(ForeignKey("holdings_import.id"), index=True)
    sheet: Mapped[str] = mapped_column(String(100))
    row: Mapped[int] = mapped_column(Integer)
    column: Mapped[str] = mapped_column(String(60))
    code: Mapped[str] = mapped_column(String(60))
    message: Mapped[str] = mapped_column(Text)
    blocking: Mapped[bool] = mapped_column(Boolean, default=True)  # False: a note; the row is saved all the same


class HoldingsMapping(Base):
    """Which column holds which field, saved for the next sheet whose header reads the same (its shape)."""

    __tablename__ = "holdings_mapping"
    __table_args__ = (UniqueConstraint("bureau_id", "shape"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    bureau_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    shape: Mapped[str] = mapped_column(String(64))  # SHA-256 of the header texts in column order
    headers: Mapped[list[str]] = mapped_column(JSON)
    mapping: Mapped[dict[str, int]] = mapped_column(JSON)
    saved_by_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    saved_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class HoldingsEntry(Base):
    """Where a file held before the system came in: its ledger, sheet and row, its date of entry, and what
    the ledger said that the file's records keep in another form or not at all."""

    __tablename__ = "holdings_entry"

    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossier.id"), primary_key=True)
    import_id: Mapped[int] = mapped_column(ForeignKey("holdings_import.id"), index=True)
    sheet: Mapped[str] = mapped_column(String(100))
    row: Mapped[int] = mapped_column(Integer)
    entered_on: Mapped[date | None]  # 入馆日期 as the ledger gives it (None: the import date was used)
    former_employer: Mapped[str] = mapped_column(String(200), default="")  # 原工作单位
    secrecy: Mapped[str] = mapped_column(String(20), default="")  # 密级 as written
    remarks: Mapped[str] = mapped_column(Text, default="")  # 备注
    # Values the ledger wrote that were stored read, e.g. {"公民身份号码": "110102570615123"} (a 15-digit ID,
    # kept as written beside the 18-digit one) or {"出生日期": "1957.6"}.
    as_written: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
