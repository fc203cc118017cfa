"""Organisations: enterprises that hand files over, archive bureaus that keep them, communities."""

import enum
from datetime import date, datetime

from sqlalchemy import Boolean, CheckConstraint, Enum, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy import false as sa_false
from sqlalchemy.orm import Mapped, mapped_column

from archive_service.db import Base, utcnow


class OrganisationKind(enum.StrEnum):
    enterprise = "enterprise"  # 企业
    bureau = "bureau"  # 档案馆 / 人社局 / 退管服务机构
    community = "community"  # 街道 / 社区
    agency = "agency"  # 社保经办机构 and other bodies that ask for files


class OrganisationLevel(enum.StrEnum):
    """An enterprise's 隶属关系 (央属 … 区属), a bureau's administrative level: which bureau takes whose files
    can turn on it (Xicheng takes 央属 retirees by 户籍 or 常住地, 市属/区属 ones by 户籍 only, 003 五)."""

    central = "central"
    provincial = "provincial"
    city = "city"
    district = "district"
    other = "other"  # e.g. a collective or a foreign-invested enterprise: no government level

    @property
    def label(self) -> str:
        return LEVEL_LABELS[self]


LEVEL_LABELS = {
    OrganisationLevel.central: "央属",
    OrganisationLevel.provincial: "省属",
    OrganisationLevel.city: "市属",
    OrganisationLevel.district: "区属",
    OrganisationLevel.other: "其他",
}


class Organisation(Base):
    __tablename__ = "organisation"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[OrganisationKind] = mapped_column(Enum(OrganisationKind, native_enum=False, length=20))
    credit_code: Mapped[str] = mapped_column(String(18), unique=True)  # 统一社会信用代码
    region_code: Mapped[str] = mapped_column(String(6))  # registered place, GB/T 2260
    level: Mapped[OrganisationLevel] = mapped_column(Enum(OrganisationLevel, native_enum=False, length=20))
    # 全宗号 of a bureau: first segment of the archival codes it assigns.
    fonds_code: Mapped[str | None] = mapped_column(String(8), unique=True)
    # A bureau's rule for which retirees' files it receives (organisations/jurisdiction.py); None: the default.
    jurisdiction_rule: Mapped[str | None] = mapped_column(String(30))
    # 000 一: 企业离休人员，原则上保持现有管理方式不变，具备条件的可以移交 — a bureau that has the conditions
    # takes their files; the others (001 第四条, 002 第三十六条) refuse them.
    accepts_lixiu: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())
    # 大政办发〔2017〕49号 第十七条: archivists hold a valid training certificate (auth/qualifications.py).
    requires_certified_staff: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())
    # 到馆查阅: how many of the bureau's staff must be present in the 阅档室 while a file is read (access/reading.py).
    # The seeds set no number (004 第十八条 only separates the 阅档室); preset 1, the archivist who serves.
    reading_staff: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    # Whom the bureau calls about an enterprise's handover (its register's problems, a missing certificate).
    contact_person: Mapped[str] = mapped_column(String(50), default="", server_default="")
    contact_phone: Mapped[str] = mapped_column(String(30), default="", server_default="")
    # The present managing unit of an enterprise whose legal person no longer exists (001 第七条, 004 第十二条(一)):
    # it hands the files over in the enterprise's name. Empty while the enterprise exists.
    managing_unit: Mapped[str] = mapped_column(String(200), default="", server_default="")
    # 金融企业 (banks, insurers, securities firms): 001 第四条, 002 第三十六条 — 金融企业退休人员管理工作，另有规定的
    # 依其规定执行. The seeds change nothing else for them, so it is recorded and shown wherever the enterprise's
    # files are taken in, for the desk to check the other rules before receiving.
    financial: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class UnitKind(enum.StrEnum):
    """The units under a bureau (organisations/units.py): where its retirees are served and where files it
    answers for may be kept outside its own store rooms."""

    street = "street"  # 街道: holds the existing files for now (003 七(二)); adds ≥ 2 staff (002 第十一条)
    township = "township"  # 乡镇
    community = "community"  # 社区（村委会）
    custodian = "custodian"  # 受托保管单位: entrusted with files, holding 档案管理资质 (004 第十六条)

    @property
    def label(self) -> str:
        return UNIT_KIND_LABELS[self]


UNIT_KIND_LABELS = {
    UnitKind.street: "街道",
    UnitKind.township: "乡镇",
    UnitKind.community: "社区（村委会）",
    UnitKind.custodian: "受托保管单位",
}


class BureauUnit(Base):
    """A street, township or community under a bureau with the retirees it receives, or a unit the bureau
    entrusts with files, with its qualification (资质) and the dates it is valid between."""

    __tablename__ = "bureau_unit"
    __table_args__ = (
        UniqueConstraint("bureau_id", "name"),
        CheckConstraint("retirees >= 0", name="retirees_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    bureau_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    kind: Mapped[UnitKind] = mapped_column(Enum(UnitKind, native_enum=False, length=20))
    name: Mapped[str] = mapped_column(String(100))
    # A community's street or township (None for a street, a township or a custodian).
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("bureau_unit.id"))
    # The retirees the unit itself receives (直接接收): what its service staff are counted from (002 第十一条).
    retirees: Mapped[int] = mapped_column(Integer, default=0)
    # An entrusted custodian's 档案管理资质: the certificate as written and its validity (004 第十六条).
    qualification: Mapped[str] = mapped_column(String(200), default="", server_default="")
    valid_from: Mapped[date | None]
    valid_until: Mapped[date | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
