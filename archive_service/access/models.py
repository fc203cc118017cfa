"""Retrieval requests (查阅/借阅/复制) and the hash-chained access log."""

import enum
from datetime import date, datetime

from sqlalchemy import JSON, Boolean, Enum, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from archive_service.db import Base, utcnow
from archive_service.protection import Protected


class RequestMode(enum.StrEnum):
    online_view = "online_view"
    on_site = "on_site"
    certified_copy = "certified_copy"
    paper_loan = "paper_loan"

    @property
    def label(self) -> str:
        return {
            "online_view": "网上查阅",
            "on_site": "到馆查阅",
            "certified_copy": "复制（加盖印章）",
            "paper_loan": "借阅原件",
        }[self.value]


class RequestStatus(enum.StrEnum):
    submitted = "submitted"
    approved = "approved"
    rejected = "rejected"
    closed = "closed"

    @property
    def label(self) -> str:
        return {"submitted": "待审批", "approved": "已批准", "rejected": "已驳回", "closed": "已办结"}[self.value]


class RetrievalRequest(Base):
    __tablename__ = "retrieval_request"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)  # approval-form number (审批表编号)
    requester_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    requester_org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossier.id"), index=True)
    # The bureau that held the file when it was asked for: it decides and serves the request, and keeps it
    # when the file is sent on (转递) — the request does not follow the file to another bureau.
    bureau_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    purpose: Mapped[str] = mapped_column(String(40))  # key into the configured purpose list
    material_classes: Mapped[list[int]] = mapped_column(JSON)  # top classes in scope, e.g. [1, 9]
    mode: Mapped[RequestMode] = mapped_column(Enum(RequestMode, native_enum=False, length=20))
    valid_from: Mapped[date]
    valid_until: Mapped[date]
    # The reader's citizen ID (身份证件号), encrypted at rest (protection.py).
    id_document: Mapped[str] = mapped_column(Protected(searchable=False), default="")
    reader_name: Mapped[str] = mapped_column(String(50), default="")  # who will read (查阅人)
    relationship: Mapped[str] = mapped_column(String(20), default="none")  # reader ↔ retiree, as declared
    purpose_detail: Mapped[str] = mapped_column(Text, default="")  # 事由
    allow_download: Mapped[bool] = mapped_column(Boolean, default=False)
    allow_print: Mapped[bool] = mapped_column(Boolean, default=False)
    loan_out_at: Mapped[datetime | None]
    loan_due: Mapped[date | None]
    loan_returned_at: Mapped[datetime | None]
    return_check: Mapped[str] = mapped_column(Text, default="")  # checked against the catalogue on return
    copies_made: Mapped[int] = mapped_column(Integer, default=0)
    handled_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))  # archivist who served it
    status: Mapped[RequestStatus] = mapped_column(
        Enum(RequestStatus, native_enum=False, length=20), default=RequestStatus.submitted
    )
    approver_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    decided_at: Mapped[datetime | None]
    decision_reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AccessLogEntry(Base):
    """Append-only; each entry holds the hash of the one before (triggers refuse UPDATE/DELETE)."""

    __tablename__ = "access_log_entry"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    role: Mapped[str] = mapped_column(String(20))
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"))
    client_address: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(30))
    dossier_id: Mapped[int | None] = mapped_column(ForeignKey("dossier.id"), index=True)
    materials: Mapped[list[int] | None] = mapped_column(JSON)
    pages: Mapped[list[int] | None] = mapped_column(JSON)
    request_id: Mapped[int | None] = mapped_column(ForeignKey("retrieval_request.id"))
    detail: Mapped[str] = mapped_column(Text, default="")
    prev_hash: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64), unique=True)
    seq: Mapped[int] = mapped_column(Integer, unique=True)  # gap-free position in the chain
    # sha256 | sm3: what entry_hash was computed with (the bureau's choice when the entry was written).
    algorithm: Mapped[str] = mapped_column(String(10), default="sha256", server_default="sha256")


class ReadingSession(Base):
    """阅档登记: one visit of the reader to the bureau's 阅档室 under an approved 到馆查阅 request (002 第八条(七)
    查阅利用; 004 第十八条 阅档室): who read (ID checked against the request), the staff present, the materials
    produced from the catalogue, copies made, when it began and ended. The paper file leaves its shelf slot when
    the first material is produced (`out_at`, custody event reading_out) and returns to `slot_id` at the end."""

    __tablename__ = "reading_session"
    __table_args__ = (
        # A file is out of its slot for one reading at a time: of two archivists producing it at once, one wins.
        Index(
            "uq_reading_session_file_out",
            "dossier_id",
            unique=True,
            sqlite_where=text("out_at IS NOT NULL AND ended_at IS NULL"),
            postgresql_where=text("out_at IS NOT NULL AND ended_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("retrieval_request.id"), index=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossier.id"), index=True)
    bureau_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    opened_by_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    staff_ids: Mapped[list[int]] = mapped_column(JSON)  # 在场工作人员, the opener first
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    materials: Mapped[list[int]] = mapped_column(JSON, default=list)  # catalogue entries produced, in order
    slot_id: Mapped[int | None] = mapped_column(ForeignKey("shelf_slot.id"))  # the slot the file left
    out_at: Mapped[datetime | None]  # when the paper file left its slot (the first material produced)
    ended_at: Mapped[datetime | None]
    ended_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    return_check: Mapped[str] = mapped_column(Text, default="")  # the materials checked against the catalogue
