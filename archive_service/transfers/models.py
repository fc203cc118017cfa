"""Transfer batches (移交 from an enterprise, 转递 between bureaus) and their register items."""

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Enum, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from archive_service.auth.models import User
from archive_service.db import Base, utcnow
from archive_service.dossiers.models import Particulars, particulars_of
from archive_service.organisations.models import Organisation, OrganisationLevel
from archive_service.protection import Protected, digest_of
from archive_service.values import SecrecyLevel


class TransferKind(enum.StrEnum):
    intake = "intake"  # enterprise → bureau (移交)
    onward = "onward"  # bureau → bureau when a retiree moves (转递)


class TransferStatus(enum.StrEnum):
    registered = "registered"  # register imported and valid
    receiving = "receiving"  # volumes being checked against the register
    received = "received"  # every item checked; awaiting both confirmations
    confirmed = "confirmed"  # both sides confirmed: closed for good
    cancelled = "cancelled"

    @property
    def label(self) -> str:
        return {
            "registered": "已登记",
            "receiving": "接收中",
            "received": "待确认",
            "confirmed": "已办结",
            "cancelled": "已撤销",
        }[self.value]


# A batch still under way: its files are on their way between hands.
OPEN = (TransferStatus.registered, TransferStatus.receiving, TransferStatus.received)


class ItemResult(enum.StrEnum):
    pending = "pending"
    accepted = "accepted"
    rejected = "rejected"
    discrepancy = "discrepancy"  # accepted, but counts differ from the register

    @property
    def label(self) -> str:
        return {"pending": "待核对", "accepted": "接收", "rejected": "退回", "discrepancy": "接收（有差异）"}[
            self.value
        ]


class TransferBatch(Base):
    __tablename__ = "transfer_batch"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    kind: Mapped[TransferKind] = mapped_column(Enum(TransferKind, native_enum=False, length=20))
    from_org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    to_org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    status: Mapped[TransferStatus] = mapped_column(Enum(TransferStatus, native_enum=False, length=20))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]  # the sender's 2-month clock ends here
    received_at: Mapped[datetime | None]  # the receiver's 2-month clock starts here
    sender_confirmed_by: Mapped[str | None] = mapped_column(String(100))
    sender_confirmed_at: Mapped[datetime | None]
    receiver_confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    receiver_confirmed_at: Mapped[datetime | None]
    acceptance: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # 验收 result printed on the receipt
    manifest_sha256: Mapped[str | None] = mapped_column(String(64))
    note: Mapped[str] = mapped_column(Text, default="", server_default="")  # e.g. why a file is sent on (转递)
    # An enterprise whose legal person no longer exists hands over through its present managing unit
    # (001 第七条, 004 第十二条(一)); the batch records that unit and why.
    managing_unit: Mapped[str] = mapped_column(String(200), default="", server_default="")
    managing_reason: Mapped[str] = mapped_column(Text, default="", server_default="")
    # The human-resources bureau's approval of the handover (003 五: 经…人力社保局核准), where there is one.
    approval_reference: Mapped[str] = mapped_column(String(100), default="", server_default="")
    # 转递 to a bureau that does not use this installation (002 第二十二条): closed by its signed return slip.
    return_slip_signer: Mapped[str | None] = mapped_column(String(50))
    return_slip_signed_on: Mapped[date | None]
    return_slip_sha256: Mapped[str | None] = mapped_column(String(64))
    cancel_reason: Mapped[str] = mapped_column(Text, default="", server_default="")  # an unsent 转递 withdrawn
    # Files are to be digitised before handover (000 §三(二)2, 002 第九条(四), 003 二(三)); a bureau that
    # takes some in on paper only records why (transfers.service.PAPER_ONLY).
    paper_reason: Mapped[str] = mapped_column(Text, default="", server_default="")
    version: Mapped[int] = mapped_column(Integer, default=1)  # optimistic lock between clerks

    from_org: Mapped[Organisation] = relationship(foreign_keys=[from_org_id], lazy="joined")
    to_org: Mapped[Organisation] = relationship(foreign_keys=[to_org_id], lazy="joined")
    items: Mapped[list["TransferItem"]] = relationship(back_populates="batch", order_by="TransferItem.row_no")

    __mapper_args__ = {"version_id_col": version}


class TransferItem(Base):
    """One row of the register (档案移交名册) and the result of checking its volume on receipt."""

    __tablename__ = "transfer_item"
    __table_args__ = (UniqueConstraint("batch_id", "row_no"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("transfer_batch.id"), index=True)
    row_no: Mapped[int] = mapped_column(Integer)
    citizen_id: Mapped[str] = mapped_column(Protected(searchable=True))  # encrypted at rest (protection.py)
    retiree_name: Mapped[str] = mapped_column(String(50))
    sex: Mapped[str] = mapped_column(String(1), default="M")
    birth_date: Mapped[date | None]
    retirement_date: Mapped[date | None]
    work_start_date: Mapped[date | None]  # 参加工作时间, as the register gives it
    hukou_region_code: Mapped[str] = mapped_column(String(6), default="")
    residence_region_code: Mapped[str] = mapped_column(String(6), default="")
    insured_region_code: Mapped[str | None] = mapped_column(String(6))  # 参保地
    archival_code: Mapped[str | None] = mapped_column(String(64))
    declared_volumes: Mapped[int] = mapped_column(Integer)
    declared_pages: Mapped[int] = mapped_column(Integer)
    declared_materials: Mapped[int] = mapped_column(Integer)
    missing_materials: Mapped[str] = mapped_column(Text, default="")
    missing_certificate: Mapped[bool] = mapped_column(Boolean, default=False)  # 证明材料 supplied
    # 密级 as the register gives it (values.SecrecyLevel); a classified file is received by an archivist only.
    secrecy: Mapped[SecrecyLevel] = mapped_column(
        Enum(SecrecyLevel, native_enum=False, length=20), default=SecrecyLevel.none, server_default="none"
    )
    particulars: Mapped[Particulars] = particulars_of(name="retiree_name")
    dossier_id: Mapped[int | None] = mapped_column(ForeignKey("dossier.id"))
    # A 卷内目录 imported before the volume arrived: entered into the dossier when it is received.
    catalogue: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    result: Mapped[ItemResult] = mapped_column(
        Enum(ItemResult, native_enum=False, length=20), default=ItemResult.pending
    )
    reason: Mapped[str] = mapped_column(Text, default="")
    # What the clerk counted on receipt (a discrepancy is any of these differing from the register).
    received_volumes: Mapped[int | None] = mapped_column(Integer)
    received_pages: Mapped[int | None] = mapped_column(Integer)
    received_materials: Mapped[int | None] = mapped_column(Integer)
    checked_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    checked_at: Mapped[datetime | None]

    batch: Mapped[TransferBatch] = relationship(back_populates="items")

    @property
    def classified(self) -> bool:
        return self.secrecy.classified


class RetainedCopy(Base):
    """The sending bureau's copy of a digitised file it sent on (转递) when the installation is set to
    retain copies (ARCHIVE_ONWARD_DIGITAL_COPY=retain): which object it may still open, and why."""

    __tablename__ = "retained_copy"
    __table_args__ = (UniqueConstraint("organisation_id", "digital_object_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossier.id"))
    digital_object_id: Mapped[int] = mapped_column(ForeignKey("digital_object.id"))
    transfer_batch_id: Mapped[int] = mapped_column(ForeignKey("transfer_batch.id"), index=True)
    retained_at: Mapped[datetime] = mapped_column(default=utcnow)


class SupplementStatus(enum.StrEnum):
    submitted = "submitted"
    approved = "approved"
    rejected = "rejected"

    @property
    def label(self) -> str:
        return {"submitted": "待审核", "approved": "已归档", "rejected": "未采用"}[self.value]


class MaterialSupplement(Base):
    """A material formed after handover (材料补充), submitted for a dossier and reviewed by an archivist.
    Approved, it becomes a new catalogue entry in its class (never replacing one) with its pages digitised."""

    __tablename__ = "material_supplement"

    id: Mapped[int] = mapped_column(primary_key=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossier.id"), index=True)
    source: Mapped[str] = mapped_column(String(200))  # who formed and sent it (社保中心, 原企业…)
    class_code: Mapped[str] = mapped_column(String(8))
    title: Mapped[str] = mapped_column(String(200))
    date_formed: Mapped[str | None] = mapped_column(String(8))
    copies: Mapped[int] = mapped_column(Integer, default=1)
    pages: Mapped[int] = mapped_column(Integer)
    remarks: Mapped[str] = mapped_column(Text, default="")
    scan_names: Mapped[list[str]] = mapped_column(JSON, default=list)  # its scans, kept as objects of the dossier
    status: Mapped[SupplementStatus] = mapped_column(
        Enum(SupplementStatus, native_enum=False, length=20), default=SupplementStatus.submitted
    )
    submitted_by_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    submitted_at: Mapped[datetime] = mapped_column(default=utcnow)
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    reviewed_at: Mapped[datetime | None]
    review_note: Mapped[str] = mapped_column(Text, default="")
    material_id: Mapped[int | None] = mapped_column(ForeignKey("material.id"))


class CertificateWaiver(Base):
    """The approver accepts a file marked 缺失 without its certificate (001 第九条(一)), and says why."""

    __tablename__ = "certificate_waiver"

    item_id: Mapped[int] = mapped_column(ForeignKey("transfer_item.id"), primary_key=True)
    reason: Mapped[str] = mapped_column(Text)
    approved_by_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    approved_at: Mapped[datetime] = mapped_column(default=utcnow)

    item: Mapped[TransferItem] = relationship(lazy="joined")
    approved_by: Mapped[User] = relationship(lazy="joined")


class TransferApplication(Base):
    """The retiree's 转入申请 to the bureau of the new place (002 第二十二条; 001 第三条 根据本人申请): what starts
    the 转递 of a file after a recorded move, never the move itself. One per move."""

    __tablename__ = "transfer_application"

    id: Mapped[int] = mapped_column(primary_key=True)
    life_event_id: Mapped[int] = mapped_column(ForeignKey("life_event.id"), unique=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossier.id"), index=True)
    applied_on: Mapped[date]
    to_org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    document: Mapped[str] = mapped_column(String(200), default="")  # 申请表编号, 接收函文号 … (may be blank)
    scan_id: Mapped[int | None] = mapped_column(ForeignKey("digital_object.id"))  # the application's scan
    onward_batch_id: Mapped[int] = mapped_column(ForeignKey("transfer_batch.id"))
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)

    to_org: Mapped[Organisation] = relationship(lazy="joined")
    onward_batch: Mapped[TransferBatch] = relationship(lazy="joined")


class HandoverCampaign(Base):
    """The bureau's handover campaign (000 §四, 001 第五–七条, 003 一): when enterprises must hand over,
    and the final date after which what is still outstanding is reported."""

    __tablename__ = "handover_campaign"

    bureau_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), primary_key=True)
    opens_on: Mapped[date]
    closes_on: Mapped[date]
    final_on: Mapped[date | None]  # e.g. Honghe: 9 月底 基本完成, 10 月底 全面完成
    basis: Mapped[str] = mapped_column(String(200))  # the notice that set it (文号, clause)
    set_by_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    set_at: Mapped[datetime] = mapped_column(default=utcnow)

    # Enterprises of a level with a closing date of their own (Xicheng: 区属 9 月底, 央属·市属 年底).
    level_windows: Mapped[list["HandoverLevelWindow"]] = relationship(
        lazy="selectin", cascade="all, delete-orphan", order_by="HandoverLevelWindow.level"
    )

    def closes_for(self, level: OrganisationLevel) -> date:
        """The closing date for an enterprise of `level`: its level's own, else the bureau's."""
        return next((w.closes_on for w in self.level_windows if w.level is level), self.closes_on)


class HandoverLevelWindow(Base):
    """A closing date for the enterprises of one level (003 一、四; 000 四(一) 中央驻渝 2020 年底前)."""

    __tablename__ = "handover_level_window"

    bureau_id: Mapped[int] = mapped_column(ForeignKey("handover_campaign.bureau_id"), primary_key=True)
    level: Mapped[OrganisationLevel] = mapped_column(
        Enum(OrganisationLevel, native_enum=False, length=20), primary_key=True
    )
    closes_on: Mapped[date]


class ContinuingHandover(Base):
    """常态化移交 (重庆 实施方案 四(二): 从 2018 年 1 月 1 日起…常态化移交; 红政办规〔2020〕6号 第七条;
    西人社发〔2020〕14号 一): from `starts_on`, each new retiree's file is due `due_months` after retirement."""

    __tablename__ = "continuing_handover"

    bureau_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), primary_key=True)
    starts_on: Mapped[date]  # retirements from this day on are handed over one by one
    due_months: Mapped[int] = mapped_column(Integer)
    basis: Mapped[str] = mapped_column(String(200))
    set_by_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    set_at: Mapped[datetime] = mapped_column(default=utcnow)


class HandoverQuota(Base):
    """How many retirees' files an enterprise must hand over to the bureau (核准移交人数, 003 一; 001 第五条),
    typed from the approval or imported from the social-insurance agency's list."""

    __tablename__ = "handover_quota"
    __table_args__ = (UniqueConstraint("bureau_id", "enterprise_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    bureau_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    expected: Mapped[int] = mapped_column(Integer)
    basis: Mapped[str] = mapped_column(String(200))  # 人社局核准文号, 社保经办机构名单 …
    set_by_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    set_at: Mapped[datetime] = mapped_column(default=utcnow)

    enterprise: Mapped[Organisation] = relationship(foreign_keys=[enterprise_id], lazy="joined")


# One row per citizen ID in a batch, by the ID's keyed digest (the value itself is encrypted).
Index(
    "uq_transfer_item_batch_citizen_id_digest",
    TransferItem.__table__.c.batch_id,
    digest_of(TransferItem.__table__.c.citizen_id),
    unique=True,
)
Index("ix_transfer_item_citizen_id_digest", digest_of(TransferItem.__table__.c.citizen_id))
