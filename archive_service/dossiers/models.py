"""Retirees, their dossiers (one person's file), the catalogue of materials, digital objects
and the immutable custody history."""

import enum
from dataclasses import dataclass, fields
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Enum, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Composite, Mapped, composite, mapped_column, relationship

from archive_service.auth.models import User
from archive_service.db import Base, utcnow
from archive_service.organisations.models import BureauUnit, Organisation
from archive_service.protection import Protected, digest_of, tail_of
from archive_service.values import SecrecyLevel


@dataclass(frozen=True)
class Particulars:
    """The retiree's particulars as the handover register gives them and the file keeps them. A 移交 carries
    them from the register row to its transfer item and, on receipt, to the retiree; a 转递 from the retiree
    to the item the receiving bureau checks. Both models map them as `particulars` (particulars_of), so one
    assignment copies all of them and `==` compares them."""

    name: str  # 姓名
    sex: str  # 性别: M | F
    citizen_id: str | None  # 公民身份号码: None only for a ledger's file still waiting for it (Retiree)
    birth_date: date | None  # 出生日期 (required of a retiree)
    work_start_date: date | None  # 参加工作时间
    retirement_date: date | None  # 退休时间
    hukou_region_code: str  # 户籍地区划代码
    residence_region_code: str  # 居住地区划代码
    insured_region_code: str | None  # 参保地区划代码
    secrecy: SecrecyLevel  # 密级 of the file, as the register gives it

    @classmethod
    def of(cls, row: Any) -> "Particulars":
        """Read from anything with attributes of the same names (the register's checked row)."""
        return cls(**{f.name: getattr(row, f.name) for f in fields(cls)})


def particulars_of(**columns: str) -> Composite[Particulars]:
    """A model's `particulars`: the composite over its columns of the same names, or as `columns` renames them
    (the transfer item's 姓名 is `retiree_name`)."""
    return composite(Particulars, *(columns.get(f.name, f.name) for f in fields(Particulars)))


class Retiree(Base):
    __tablename__ = "retiree"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50))
    sex: Mapped[str] = mapped_column(String(1))  # M | F, must agree with the citizen ID
    # NULL only for a file held before the system whose ledger had no readable ID: it waits to be completed
    # (存量档案导入 lists it); every other way in requires the ID. Encrypted at rest; found by exact value (its
    # keyed digest, unique) or by its last 4 (protection.py).
    citizen_id: Mapped[str | None] = mapped_column(Protected(searchable=True, tail=True))
    birth_date: Mapped[date]
    work_start_date: Mapped[date | None]  # 参加工作时间
    retirement_date: Mapped[date | None]
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    hukou_region_code: Mapped[str] = mapped_column(String(6))
    residence_region_code: Mapped[str] = mapped_column(String(6))
    insured_region_code: Mapped[str | None] = mapped_column(String(6))  # 参保地, where the register gives it
    party_member: Mapped[bool] = mapped_column(Boolean, default=False)
    leader_cadre: Mapped[bool] = mapped_column(Boolean, default=False)  # 领导人员: not handed over
    # 密级 (values.SecrecyLevel): a file of any level but 非密 is never served online nor found by requesters.
    secrecy: Mapped[SecrecyLevel] = mapped_column(
        Enum(SecrecyLevel, native_enum=False, length=20), default=SecrecyLevel.none, server_default="none"
    )
    deceased_date: Mapped[date | None]

    particulars: Mapped[Particulars] = particulars_of()
    enterprise: Mapped[Organisation] = relationship(lazy="joined")

    @property
    def classified(self) -> bool:
        return self.secrecy.classified


Index("uq_retiree_citizen_id_digest", digest_of(Retiree.__table__.c.citizen_id), unique=True)
Index("ix_retiree_citizen_id_tail", tail_of(Retiree.__table__.c.citizen_id))


class ClassScheme(Base):
    """A classification scheme of materials: 1992 enterprise, 2009 cadre, 2018 条例 (STANDARDS §3)."""

    __tablename__ = "class_scheme"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))


class MaterialClass(Base):
    __tablename__ = "material_class"
    __table_args__ = (UniqueConstraint("scheme_code", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scheme_code: Mapped[str] = mapped_column(ForeignKey("class_scheme.code"))
    code: Mapped[str] = mapped_column(String(8))  # "1" … "10", sub-classes "4-1", "9-2"
    name: Mapped[str] = mapped_column(String(100))
    top_class: Mapped[int] = mapped_column(Integer)  # 1 … 10, for grouping and access scopes
    sort_key: Mapped[int] = mapped_column(Integer)


class DossierStatus(enum.StrEnum):
    at_enterprise = "at_enterprise"
    in_transfer = "in_transfer"
    in_custody = "in_custody"
    on_loan = "on_loan"
    transferred_out = "transferred_out"
    # The bureau answers for the file, a street or an entrusted custodian keeps it (Dossier.held_by):
    # 003 七(二) 现存的退休人员人事档案暂由各街道管理; 004 第十六条 委托具有档案管理资质的单位管理.
    held_elsewhere = "held_elsewhere"
    disposed = "disposed"  # destroyed on an approved 销毁清册 (disposal/): the record stays, the file is gone

    @property
    def label(self) -> str:
        return DOSSIER_STATUS_LABELS[self]


DOSSIER_STATUS_LABELS = {
    DossierStatus.at_enterprise: "在企业",
    DossierStatus.in_transfer: "移交中",
    DossierStatus.in_custody: "在馆",
    DossierStatus.on_loan: "借出",
    DossierStatus.transferred_out: "已转出",
    DossierStatus.held_elsewhere: "馆外保管",
    DossierStatus.disposed: "已销毁",
}


class DigitisationState(enum.StrEnum):
    not_started = "not_started"
    in_progress = "in_progress"
    done = "done"
    failed = "failed"

    @property
    def label(self) -> str:
        return {
            "not_started": "未数字化",
            "in_progress": "数字化中",
            "done": "已数字化",
            "failed": "数字化失败",
        }[self.value]


class Dossier(Base):
    __tablename__ = "dossier"

    id: Mapped[int] = mapped_column(primary_key=True)
    archival_code: Mapped[str] = mapped_column(String(64), unique=True)  # 档号
    # 原档号: the code an earlier ledger or system gave the file, when the bureau numbered it anew (searchable)
    former_archival_code: Mapped[str | None] = mapped_column(String(64), index=True)
    retiree_id: Mapped[int] = mapped_column(ForeignKey("retiree.id"), unique=True)
    custodian_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    status: Mapped[DossierStatus] = mapped_column(Enum(DossierStatus, native_enum=False, length=20))
    volumes: Mapped[int] = mapped_column(Integer, default=1)  # 卷数
    pages: Mapped[int] = mapped_column(Integer, default=0)
    class_scheme: Mapped[str] = mapped_column(ForeignKey("class_scheme.code"))
    shelf_slot_id: Mapped[int | None] = mapped_column(ForeignKey("shelf_slot.id"))
    # The street or entrusted custodian keeping the file while its status is held_elsewhere.
    held_by_id: Mapped[int | None] = mapped_column(ForeignKey("bureau_unit.id"), index=True)
    digitisation: Mapped[DigitisationState] = mapped_column(
        Enum(DigitisationState, native_enum=False, length=20), default=DigitisationState.not_started
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    retiree: Mapped[Retiree] = relationship(lazy="joined")
    custodian: Mapped[Organisation] = relationship(lazy="joined")
    held_by: Mapped[BureauUnit | None] = relationship(lazy="joined")
    materials: Mapped[list["Material"]] = relationship(
        back_populates="dossier", order_by="Material.sort_key", cascade="all, delete-orphan"
    )


class Material(Base):
    """One entry of the catalogue (卷内目录)."""

    __tablename__ = "material"
    __table_args__ = (UniqueConstraint("dossier_id", "material_class_id", "item_no"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossier.id"), index=True)
    material_class_id: Mapped[int] = mapped_column(ForeignKey("material_class.id"))
    item_no: Mapped[int] = mapped_column(Integer)  # 份号 within the (sub-)class
    title: Mapped[str] = mapped_column(String(200))
    date_formed: Mapped[str | None] = mapped_column(String(8))  # YYYY[MM[DD]]
    copies: Mapped[int] = mapped_column(Integer, default=1)
    pages: Mapped[int] = mapped_column(Integer)
    remarks: Mapped[str] = mapped_column(String(200), default="")
    first_page: Mapped[int | None] = mapped_column(Integer)  # page range in the digitised PDF
    last_page: Mapped[int | None] = mapped_column(Integer)
    added_after_handover: Mapped[bool] = mapped_column(Boolean, default=False)  # 材料补充
    sort_key: Mapped[int] = mapped_column(Integer)  # class order, then date formed (STANDARDS §3.4)

    dossier: Mapped[Dossier] = relationship(back_populates="materials")
    material_class: Mapped[MaterialClass] = relationship(lazy="joined")

    @property
    def sequence(self) -> str:
        return sequence_of(self.material_class.code, self.item_no)


def sequence_of(class_code: str, item_no: int) -> str:
    """序号 as written on the material: 类号-份号, e.g. 1-3, 4-1-1, 9-2-5."""
    return f"{class_code}-{item_no}"


class CatalogueRevision(Base):
    """One save of a dossier's 卷内目录: who, when, the whole list before and after. Never changed."""

    __tablename__ = "catalogue_revision"

    id: Mapped[int] = mapped_column(primary_key=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossier.id"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    source: Mapped[str] = mapped_column(String(20))  # typed | imported | proposal
    before: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    after: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    note: Mapped[str] = mapped_column(Text, default="")  # e.g. the page count against the count at receipt


class DigitalObject(Base):
    """A stored file of a dossier. Append-only: a correction is a new version, never an overwrite."""

    __tablename__ = "digital_object"
    __table_args__ = (UniqueConstraint("dossier_id", "name", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossier.id"), index=True)
    role: Mapped[str] = mapped_column(String(20))  # master_image | use_copy | sidecar
    name: Mapped[str] = mapped_column(String(120))  # {档号}-{NNNN}.tif, {档号}.pdf …
    version: Mapped[int] = mapped_column(Integer, default=1)
    storage_key: Mapped[str] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(64))
    sm3: Mapped[str | None] = mapped_column(String(64))  # also kept where the custodian bureau chose SM3 (密评)
    size: Mapped[int] = mapped_column(Integer)
    media_type: Mapped[str] = mapped_column(String(80))
    pages: Mapped[int | None] = mapped_column(Integer)
    pdfa_level: Mapped[str | None] = mapped_column(String(8))
    ocr_engine: Mapped[str | None] = mapped_column(String(60))
    ocr_languages: Mapped[str | None] = mapped_column(String(60))
    page_confidence: Mapped[list[float] | None] = mapped_column(JSON)
    qc_results: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    pipeline_version: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PageText(Base):
    """The OCR text of one page of a dossier's digitised copy: what full-text search reads."""

    __tablename__ = "page_text"

    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossier.id"), primary_key=True)
    page: Mapped[int] = mapped_column(Integer, primary_key=True)  # 1-based, as in the PDF
    text: Mapped[str] = mapped_column(Text, default="")


class FactConfirmation(Base):
    """An archivist's confirmation of one fact of a file (出生日期, 参加工作时间 …): which value, on which
    page's evidence, who and when. Never changed: a later confirmation of the same fact supersedes it,
    so the history of what was accepted stays readable."""

    __tablename__ = "fact_confirmation"

    id: Mapped[int] = mapped_column(primary_key=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossier.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # a key of digitise.facts.FACT_KINDS
    value: Mapped[str] = mapped_column(String(60))
    page: Mapped[int | None] = mapped_column(Integer)  # the page whose statement was accepted
    actor_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    note: Mapped[str] = mapped_column(Text, default="")

    actor: Mapped[User] = relationship(lazy="joined")


class CustodyEventKind(enum.StrEnum):
    registered = "registered"  # dossier known, still at the enterprise
    transfer_sent = "transfer_sent"
    received = "received"
    shelved = "shelved"
    moved = "moved"
    loaned = "loaned"
    returned = "returned"
    transferred_out = "transferred_out"
    life_event = "life_event"  # the retiree died, was convicted, went missing, emigrated or moved
    onward_cancelled = "onward_cancelled"  # a 转递 withdrawn before it left: the file stays
    holdings_entry = "holdings_entry"  # a file held before the system, entered from the bureau's old ledger
    held_elsewhere = "held_elsewhere"  # kept by a street or an entrusted custodian for the bureau (its note says which)
    taken_in = "taken_in"  # a file kept elsewhere brought into the bureau's own store
    reading_out = "reading_out"  # off its slot to the 阅档室 for a 到馆查阅 (access/reading.py)
    reading_back = "reading_back"  # … back to the same slot when the reading ends
    disposed = "disposed"  # 销毁: destroyed on an approved 销毁清册; the paper left its slot (disposal/)

    @property
    def label(self) -> str:
        return CUSTODY_EVENT_LABELS[self]


CUSTODY_EVENT_LABELS = {
    CustodyEventKind.registered: "登记",
    CustodyEventKind.transfer_sent: "移交发出",
    CustodyEventKind.received: "接收入馆",
    CustodyEventKind.shelved: "上架",
    CustodyEventKind.moved: "移架",
    CustodyEventKind.loaned: "借出",
    CustodyEventKind.returned: "归还",
    CustodyEventKind.transferred_out: "转递转出",
    CustodyEventKind.life_event: "人员状态变动",
    CustodyEventKind.onward_cancelled: "转递撤销",
    CustodyEventKind.holdings_entry: "存量入馆",
    CustodyEventKind.held_elsewhere: "馆外保管",
    CustodyEventKind.taken_in: "收回入馆",
    CustodyEventKind.reading_out: "出库阅档",
    CustodyEventKind.reading_back: "阅毕归架",
    CustodyEventKind.disposed: "销毁",
}


class CustodyEvent(Base):
    """Immutable: database triggers refuse UPDATE and DELETE (see the first migration)."""

    __tablename__ = "custody_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossier.id"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    kind: Mapped[CustodyEventKind] = mapped_column(Enum(CustodyEventKind, native_enum=False, length=20))
    from_org_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"))
    to_org_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"))
    from_slot_id: Mapped[int | None] = mapped_column(ForeignKey("shelf_slot.id"))
    to_slot_id: Mapped[int | None] = mapped_column(ForeignKey("shelf_slot.id"))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    transfer_batch_id: Mapped[int | None] = mapped_column(ForeignKey("transfer_batch.id"))
    note: Mapped[str] = mapped_column(Text, default="")

    from_org: Mapped[Organisation | None] = relationship(foreign_keys=[from_org_id], lazy="joined")
    to_org: Mapped[Organisation | None] = relationship(foreign_keys=[to_org_id], lazy="joined")


class LifeEventKind(enum.StrEnum):
    """What happens to a retiree after handover that the bureau must record (000 二(五), 002 第三十四条)."""

    death = "death"
    conviction = "conviction"
    disappearance = "disappearance"
    emigration = "emigration"
    moved = "moved"  # 户籍 and residence moved to another place
    moved_residence = "moved_residence"  # 常住地 only: under a 户籍 rule nothing moves (003 五)
    moved_hukou = "moved_hukou"  # 户籍 only

    @property
    def label(self) -> str:
        return {
            "death": "死亡",
            "conviction": "判刑",
            "disappearance": "失踪",
            "emigration": "出国（境）定居",
            "moved": "迁居（户籍、居住地迁往他处）",
            "moved_residence": "常住地迁移（户籍未变）",
            "moved_hukou": "户籍迁移（常住地未变）",
        }[self.value]

    @property
    def is_move(self) -> bool:
        return self in MOVES


MOVES = frozenset({LifeEventKind.moved, LifeEventKind.moved_residence, LifeEventKind.moved_hukou})


class LifeEvent(Base):
    """A change in the retiree's state, with the document it was learnt from and who entered it.
    Immutable like custody events: a wrong entry is corrected by a further one, never overwritten."""

    __tablename__ = "life_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    retiree_id: Mapped[int] = mapped_column(ForeignKey("retiree.id"), index=True)
    kind: Mapped[LifeEventKind] = mapped_column(Enum(LifeEventKind, native_enum=False, length=20))
    occurred_on: Mapped[date]
    source_document: Mapped[str] = mapped_column(String(200))  # e.g. 死亡医学证明 编号 …
    region_code: Mapped[str | None] = mapped_column(String(6))  # where the retiree moved to
    entered_by_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    entered_at: Mapped[datetime] = mapped_column(default=utcnow)

    entered_by: Mapped[User] = relationship(lazy="joined")


class MissingMaterial(Base):
    """A material the file lacks, by class, and the certificate that vouches for it (证明材料, 001 第九条(一)):
    a scan stored with the file like any object. Kept as recorded; a mistake is answered by a further entry."""

    __tablename__ = "missing_material"

    id: Mapped[int] = mapped_column(primary_key=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossier.id"), index=True)
    material_class_id: Mapped[int] = mapped_column(ForeignKey("material_class.id"))
    description: Mapped[str] = mapped_column(String(200))  # e.g. 1985 年工资调整审批表
    issued_by: Mapped[str] = mapped_column(String(200))  # who issued the certificate (原单位, 主管部门)
    certificate_id: Mapped[int] = mapped_column(ForeignKey("digital_object.id"))
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)

    material_class: Mapped[MaterialClass] = relationship(lazy="joined")
    certificate: Mapped[DigitalObject] = relationship(lazy="joined")
    recorded_by: Mapped[User] = relationship(lazy="joined")
