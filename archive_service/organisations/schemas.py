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


class JurisdictionOut(BaseModel):
    rule: str
    name: str
    basis: str
