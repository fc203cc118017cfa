"""Pydantic shapes of transfer batches, register items and checks on receipt."""

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from archive_service.transfers.models import ItemResult, SupplementStatus, TransferKind, TransferStatus
from archive_service.values import SecrecyLevel


class ItemOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    row_no: int
    retiree_name: str
    citizen_id: str
    archival_code: str | None
    declared_volumes: int
    declared_pages: int
    declared_materials: int
    missing_materials: str
    missing_certificate: bool
    classified: bool  # any 密级 but 非密
    secrecy: SecrecyLevel
    result: ItemResult
    reason: str
    received_volumes: int | None
    received_pages: int | None
    received_materials: int | None
    dossier_id: int | None
    checked_at: datetime | None


class ProgressOut(BaseModel):
    total: int
    checked: int
    pending: int
    accepted: int
    discrepancies: int
    rejected: int
    volumes: int
    pages: int
    sender_due: date | None
    receiver_due: date | None


class BatchOut(BaseModel):
    id: int
    number: str
    kind: TransferKind
    status: TransferStatus
    from_org: str
    to_org: str
    created_at: datetime
    received_at: datetime | None
    sender_confirmed_by: str | None
    sender_confirmed_at: datetime | None
    receiver_confirmed_at: datetime | None
    manifest_sha256: str | None
    acceptance: dict[str, Any] | None  # the latest round of 验收, earlier rounds in its history
    return_slip_signer: str | None  # 转递 on paper: who signed the receiving bureau's return slip
    return_slip_signed_on: date | None
    cancel_reason: str  # an unsent 转递 withdrawn
    paper_reason: str  # why files not yet digitised were taken in (transfers.service.PAPER_ONLY)
    managing_unit: str  # a defunct enterprise's present managing unit, which handed the files over
    managing_reason: str
    approval_reference: str  # the human-resources bureau's approval (文号)
    progress: ProgressOut


class BatchDetail(BatchOut):
    items: list[ItemOut]


class CheckIn(BaseModel):
    """One volume checked against the register: scanned archival code, citizen ID or "#row"."""

    key: str = Field(min_length=1, max_length=40)
    result: Literal["accepted", "discrepancy", "rejected"] = "accepted"
    reason: str = Field(default="", max_length=500)
    volumes: int | None = None
    pages: int | None = None
    materials: int | None = None


class CancelIn(BaseModel):
    reason: str = ""


class ConfirmIn(BaseModel):
    side: Literal["sender", "receiver"]
    sender_name: str = Field(default="", max_length=100)
    paper_reason: str = Field(default="", max_length=500)  # required when files arrive not yet digitised


class InspectionIn(BaseModel):
    """The inspector's verdict on one sampled dossier: every criterion of acceptance.CRITERIA."""

    dossier_id: int
    marks: dict[str, bool]
    note: str = Field(default="", max_length=1000)


class MoveAwaitingOut(BaseModel):
    """A recorded move that takes a file out of the bureau's area, waiting for the retiree's 转入申请."""

    dossier_id: int
    archival_code: str
    name: str
    enterprise: str
    move: str  # the move's label: 迁居 / 常住地迁移 / 户籍迁移
    occurred_on: date
    region_code: str | None
    belongs_to: str  # the bureau of the new place (or 区划 … 所在地的档案馆)
    next_step: str


class OnwardIn(BaseModel):
    """转递: the files to send on (archival codes) and to which bureau, with the reason."""

    to_org_id: int
    archival_codes: list[str] = Field(min_length=1, max_length=10000)
    note: str = Field(max_length=500)


class SupplementOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    dossier_id: int
    source: str
    class_code: str
    title: str
    date_formed: str | None
    copies: int
    pages: int
    remarks: str
    scan_names: list[str]
    status: SupplementStatus
    submitted_at: datetime
    reviewed_at: datetime | None
    review_note: str
    material_id: int | None


class ReviewIn(BaseModel):
    approve: bool
    note: str = Field(default="", max_length=500)


class CampaignIn(BaseModel):
    """The bureau's handover window from its notice (000 §四, 001 第五–七条, 003 一), or a seed's preset."""

    preset: str = ""  # a key of transfers/campaigns.toml: its window and basis, the fields below ignored
    opens_on: date | None = None
    closes_on: date | None = None
    final_on: date | None = None
    basis: str = Field(default="", max_length=200)
    # Levels of enterprise (central, provincial, city, district, other) closing on a date of their own.
    by_level: dict[str, date | None] = Field(default_factory=dict)


class CampaignOut(BaseModel):
    opens_on: date
    closes_on: date
    final_on: date | None
    basis: str
    by_level: dict[str, date]


class WaiverIn(BaseModel):
    reason: str = Field(default="", max_length=500)  # why the file is accepted without its certificate


class WaiverOut(BaseModel):
    item_id: int
    name: str
    reason: str
    approved_by: str
    approved_at: datetime


class ContinuingIn(BaseModel):
    """常态化移交 (000 四(二), 001 第七条, 003 一): from which retirement date, and months after retirement."""

    starts_on: date | None = None
    due_months: int | None = None
    basis: str = Field(default="", max_length=200)


class ContinuingOut(BaseModel):
    starts_on: date
    due_months: int
    basis: str


class LateOut(BaseModel):
    """A new retiree's file that came after it was due: the enterprise and the person named."""

    enterprise: str
    name: str
    retirement_date: date
    due_on: date
    handed_over_on: date
    days_late: int
    batch_number: str


class QuotaIn(BaseModel):
    expected: int  # 核准移交人数
    basis: str = Field(default="", max_length=200)


class EnterpriseProgressOut(BaseModel):
    enterprise: str
    credit_code: str
    level: str  # 央属 / 省属 / 市属 / 区属 / 其他
    closes_on: date | None  # its level's closing date, else the bureau's
    expected: int | None
    handed_over: int
    outstanding: int | None
    state: str  # 已完成 / 进行中 / 逾期 / 超过最终期限 / 未核定人数
    late: bool


class CampaignProgressOut(BaseModel):
    campaign: CampaignOut | None
    today: date
    enterprises: list[EnterpriseProgressOut]
