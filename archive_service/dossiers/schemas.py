"""Pydantic shapes of dossiers at the API boundary."""

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from archive_service.values import (
    ArchivalCode,
    CitizenId,
    PartialDate,
    RegionCode,
    SecrecyLevel,
    ValueRuleError,
    check_citizen_id_agrees,
)


class RetireeIn(BaseModel):
    name: str = Field(min_length=1, max_length=50)
    citizen_id: CitizenId
    sex: Literal["M", "F"]
    birth_date: date
    work_start_date: date | None = None
    retirement_date: date | None = None
    enterprise_id: int
    hukou_region_code: RegionCode
    residence_region_code: RegionCode
    insured_region_code: RegionCode | None = None  # 参保地
    party_member: bool = False
    leader_cadre: bool = False
    secrecy: SecrecyLevel = SecrecyLevel.none  # 密级
    deceased_date: date | None = None

    @field_validator("sex")
    @classmethod
    def _sex_agrees(cls, sex: str, info: ValidationInfo) -> str:
        _agrees(info, sex=sex)
        return sex

    @field_validator("birth_date")
    @classmethod
    def _birth_agrees(cls, birth_date: date, info: ValidationInfo) -> date:
        _agrees(info, birth_date=birth_date)
        return birth_date

    @field_validator("retirement_date")
    @classmethod
    def _retired_after_start(cls, retired: date | None, info: ValidationInfo) -> date | None:
        started = info.data.get("work_start_date")
        if retired and started and retired < started:
            raise PydanticCustomError("retirement_date.order", "退休时间不能早于参加工作时间")
        return retired


def _agrees(info: ValidationInfo, **fact: object) -> None:
    citizen_id = info.data.get("citizen_id")
    if citizen_id is None:  # the ID itself failed; that error is already reported
        return
    try:
        check_citizen_id_agrees(citizen_id, fact.get("birth_date"), fact.get("sex"))  # type: ignore[arg-type]
    except ValueRuleError as e:
        raise PydanticCustomError(e.code, e.message) from None


class MaterialIn(BaseModel):
    class_code: str = Field(pattern=r"^\d{1,2}(-\d)?$")
    title: str = Field(min_length=1, max_length=200)
    date_formed: PartialDate | None = None
    copies: int = Field(default=1, ge=1)
    pages: int = Field(ge=1)
    remarks: str = ""


class DossierIn(BaseModel):
    """An existing holding entered by an archivist (stock that predates the system)."""

    retiree: RetireeIn
    archival_code: ArchivalCode | None = None  # assigned from the bureau's 全宗号 when omitted
    class_scheme: str = "enterprise-1992"
    volumes: int = Field(default=1, ge=1, le=50)
    materials: list[MaterialIn] = []
    # A file a street or an entrusted custodian keeps for the bureau (003 七(二), 004 第十六条): its unit.
    held_by_unit_id: int | None = Field(default=None, ge=1, le=2_000_000_000)


class HeldByIn(BaseModel):
    unit_id: int = Field(ge=1, le=2_000_000_000, description="本馆登记的街道、社区或受托保管单位")


class MaterialOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    sequence: str
    class_code: str
    class_name: str
    title: str
    date_formed: str | None
    copies: int
    pages: int
    remarks: str
    first_page: int | None
    last_page: int | None
    added_after_handover: bool


class CustodyEventOut(BaseModel):
    at: datetime
    kind: str
    label: str
    from_org: str | None
    to_org: str | None
    note: str


class DossierSummary(BaseModel):
    id: int
    archival_code: str
    retiree_name: str
    citizen_id_masked: str
    enterprise: str
    status: str
    volumes: int
    pages: int
    digitisation: str
    held_by: str | None = None  # the street or custodian keeping the file (状态 held_elsewhere)


class DossierDetail(DossierSummary):
    sex: str
    birth_date: date
    work_start_date: date | None
    retirement_date: date | None
    class_scheme: str
    classified: bool  # any 密级 but 非密: not served online
    secrecy: SecrecyLevel
    materials: list[MaterialOut]
    custody: list[CustodyEventOut]


class DossierPage(BaseModel):
    total: int
    page: int
    page_size: int
    items: list[DossierSummary]


class CatalogueRevisionOut(BaseModel):
    at: datetime
    actor_id: int | None
    source: str  # typed | imported | proposal
    entries_before: int
    entries_after: int
    note: str


class CatalogueOut(BaseModel):
    dossier_id: int
    archival_code: str
    class_scheme: str
    editable: bool
    materials: list[MaterialOut]
    revisions: list[CatalogueRevisionOut]
    common_titles: dict[str, list[str]]  # top class "1"…"10" → usual material names
    # Proposed from the pages of the digitised copy, as rows to PUT back (source "proposal") once checked.
    proposed: list[dict[str, str]]


class FactEvidenceOut(BaseModel):
    page: int
    excerpt: str
    material: str | None
    sequence: str | None
    date_formed: str | None
    state: str  # this page's reading: machine | proofread | reviewed


class FactValueOut(BaseModel):
    value: str
    state: str  # machine | proofread | reviewed: its best-checked statement (校对与复核)
    state_label: str  # 机器识别 | 已校对 | 已复核
    first_recorded: bool  # stated by the material formed earliest
    evidence: list[FactEvidenceOut]


class FactConfirmationOut(BaseModel):
    value: str
    page: int | None
    actor_id: int
    actor_name: str
    at: datetime
    note: str


class FactOut(BaseModel):
    kind: str
    label: str
    prevailing: str | None  # the confirmed value, else the first recorded
    registered: str | None  # what the register (the ID card) records
    conflict: bool  # the file disagrees with itself
    differs_from_register: bool
    confirmed: FactConfirmationOut | None
    values: list[FactValueOut]


class FactSheetOut(BaseModel):
    dossier_id: int
    archival_code: str
    facts: list[FactOut]


class FactConfirmIn(BaseModel):
    value: str = Field(min_length=1, max_length=60)
    page: int | None = Field(None, ge=1)
    note: str = Field("", max_length=500)


class LifeEventIn(BaseModel):
    kind: str  # death | conviction | disappearance | emigration | moved | moved_residence | moved_hukou
    occurred_on: date | None = None
    source_document: str = ""
    region_code: str = ""  # where the retiree moved to (moves only)


class LifeEventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str
    label: str
    occurred_on: date
    source_document: str
    region_code: str | None
    entered_by: str
    entered_at: datetime


class LifeEventRecorded(BaseModel):
    event: LifeEventOut
    # For a move: whether the file now belongs elsewhere (it then waits for the retiree's 转入申请, 002
    # 第二十二条; nothing is sent by the move itself), which bureau, and what happens next in words.
    awaits_application: bool | None = None
    belongs_to: str | None = None
    next_step: str | None = None


class TransferApplicationOut(BaseModel):
    """The retiree's 转入申请 and the 转递 it started (002 第二十二条)."""

    id: int
    dossier_id: int
    life_event_id: int
    applied_on: date
    to_org: str
    document: str
    has_scan: bool
    onward_batch_id: int
    onward_batch_number: str


class MissingMaterialOut(BaseModel):
    """A material the file lacks and its certificate (证明材料, 001 第九条(一))."""

    id: int
    class_code: str
    class_name: str
    description: str
    issued_by: str
    certificate_name: str
    certificate_sha256: str
    certificate_pages: int
    recorded_by: str
    recorded_at: datetime


class MissingMaterialsOut(BaseModel):
    declared: str  # what the enterprise's register said is missing (缺失材料), if it came through intake
    recorded: list[MissingMaterialOut]
