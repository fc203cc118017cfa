from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from archive_service.organisations.models import OrganisationKind, OrganisationLevel
from archive_service.values import CreditCode, RegionCode


class OrganisationIn(BaseModel):
    name: str = Field(min_length=2, max_length=200)
    kind: OrganisationKind
    credit_code: CreditCode
    region_code: RegionCode
    level: OrganisationLevel = OrganisationLevel.district
    fonds_code: str | None = Field(default=None, pattern=r"^[A-Z0-9]{1,8}$")


class OrganisationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    kind: OrganisationKind
    credit_code: str
    region_code: str
    level: OrganisationLevel
    fonds_code: str | None
    jurisdiction_rule: str | None


class JurisdictionIn(BaseModel):
    rule: str


class LixiuIn(BaseModel):
    accepts: bool  # the bureau takes 离休 retirees' files (000 一: 具备条件的可以移交)


class LixiuOut(BaseModel):
    accepts: bool
    basis: str


class JurisdictionOut(BaseModel):
    rule: str
    name: str
    basis: str


class EnterpriseIn(BaseModel):
    """A 移交单位 as the desk registers it; the service checks each field (organisations/enterprises.py), so the
    API and the page refuse with the same words."""

    name: str = Field("", max_length=400)
    credit_code: str = Field("", max_length=100)
    region_code: str = Field("", max_length=100)
    level: str = Field("", max_length=100, description="central、provincial、city、district 或 other")
    contact_person: str = Field("", max_length=200)
    contact_phone: str = Field("", max_length=100)
    managing_unit: str = Field("", max_length=400, description="企业法人已不存在时的现管理单位")
    financial: bool = Field(False, description="金融企业（001 第四条、002 第三十六条：另有规定的依其规定执行）")


class BatchBrief(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    number: str
    status: str


class EnterpriseOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    credit_code: str
    region_code: str
    level: OrganisationLevel
    contact_person: str
    contact_phone: str
    managing_unit: str
    financial: bool
    batches: list[BatchBrief] = []


class UnitIn(BaseModel):
    """A street, township, community or entrusted custodian as the administrator types it; the service checks each
    field (organisations/units.py), so the API and the page refuse with the same words."""

    kind: str = Field("", max_length=20, description="street、township、community 或 custodian")
    name: str = Field("", max_length=400)
    parent_id: str = Field("", max_length=20, description="社区所属街道或乡镇的 id")
    retirees: str = Field("", max_length=20, description="直接接收退休人数（晋政办通〔2020〕18号 第十一条）")
    qualification: str = Field(
        "", max_length=400, description="受托保管单位的档案管理资质（大政办发〔2017〕49号 第十六条）"
    )
    valid_from: str = Field("", max_length=20, description="资质有效期起，YYYY-MM-DD")
    valid_until: str = Field("", max_length=20, description="资质有效期至，YYYY-MM-DD")


class UnitOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str
    kind_label: str
    name: str
    parent_id: int | None
    retirees: int
    qualification: str
    valid_from: date | None
    valid_until: date | None
    valid_today: bool  # a custodian's qualification covers today (others: always)
    files_held: int  # files the unit keeps for the bureau (状态 馆外保管)
