from fastapi import APIRouter, Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from archive_service.auth.permissions import Action, require
from archive_service.db import bureau_today
from archive_service.deps import CurrentUser, DbSession, client_address
from archive_service.organisations import enterprises, jurisdiction, service, units
from archive_service.organisations.models import BureauUnit, Organisation
from archive_service.organisations.schemas import (
    BatchBrief,
    EnterpriseIn,
    EnterpriseOut,
    JurisdictionIn,
    JurisdictionOut,
    LixiuIn,
    LixiuOut,
    OrganisationIn,
    OrganisationOut,
    UnitIn,
    UnitOut,
)

router = APIRouter(prefix="/api/organisations", tags=["organisations"])


@router.get("", response_model=list[OrganisationOut])
def list_organisations(session: DbSession, user: CurrentUser) -> list:
    # Names and codes of organisations are public registry facts; no files are disclosed here.
    return list(session.scalars(select(Organisation).order_by(Organisation.id)))


@router.post("", response_model=OrganisationOut, status_code=201)
def create_organisation(data: OrganisationIn, session: DbSession, user: CurrentUser) -> Organisation:
    require(user, Action.manage_organisations)
    return service.create_organisation(session, data)


def _enterprise_out(enterprise: Organisation, batches: list | None = None) -> EnterpriseOut:
    out = EnterpriseOut.model_validate(enterprise)
    out.batches = [BatchBrief(id=b.id, number=b.number, status=b.status.value) for b in batches or []]
    return out


@router.get("/enterprises", response_model=list[EnterpriseOut])
def list_enterprises(session: DbSession, user: CurrentUser) -> list[EnterpriseOut]:
    """移交单位 with the intake batches each handed to the user's bureau."""
    return [_enterprise_out(e.enterprise, e.batches) for e in enterprises.list_enterprises(session, user)]


@router.post("/enterprises", response_model=EnterpriseOut, status_code=201)
def register_enterprise(data: EnterpriseIn, request: Request, session: DbSession, user: CurrentUser) -> EnterpriseOut:
    typed = enterprises.Particulars(**data.model_dump())
    return _enterprise_out(enterprises.register_enterprise(session, user, typed, client_address(request)))


@router.put("/enterprises/{enterprise_id}", response_model=EnterpriseOut)
def change_enterprise(
    enterprise_id: int,
    data: EnterpriseIn,
    request: Request,
    session: DbSession,
    user: CurrentUser,
) -> EnterpriseOut:
    typed = enterprises.Particulars(**data.model_dump())
    changed = enterprises.change_enterprise(session, user, enterprise_id, typed, client_address(request))
    return _enterprise_out(changed)


def _jurisdiction_out(rule: jurisdiction.JurisdictionRule) -> JurisdictionOut:
    text = jurisdiction.RULES[rule]
    return JurisdictionOut(rule=rule.value, name=text.name, basis=text.basis)


@router.get("/jurisdiction", response_model=JurisdictionOut)
def get_jurisdiction(session: DbSession, user: CurrentUser) -> JurisdictionOut:
    """The rule by which the user's bureau decides which retirees' files it receives, with its clause."""
    bureau = session.get(Organisation, user.organisation_id)
    assert bureau is not None
    return _jurisdiction_out(jurisdiction.rule_of(bureau))


@router.put("/lixiu", response_model=LixiuOut)
def set_lixiu(data: LixiuIn, request: Request, session: DbSession, user: CurrentUser) -> LixiuOut:
    """Whether the bureau takes 离休 retirees' files (000 一); preset: not (001 第四条, 002 第三十六条)."""
    accepts = service.set_accepts_lixiu(session, user, data.accepts, client_address(request))
    return LixiuOut(accepts=accepts, basis=jurisdiction.LIXIU_BASIS)


@router.put("/jurisdiction", response_model=JurisdictionOut)
def set_jurisdiction(data: JurisdictionIn, request: Request, session: DbSession, user: CurrentUser) -> JurisdictionOut:
    return _jurisdiction_out(service.set_jurisdiction(session, user, data.rule, client_address(request)))


def _unit_out(session: Session, unit: BureauUnit, held: dict[int, int] | None = None) -> UnitOut:
    if held is None:
        held = units.held_counts(session, unit.bureau_id)
    return UnitOut(
        id=unit.id, kind=unit.kind.value, kind_label=unit.kind.label, name=unit.name, parent_id=unit.parent_id,
        retirees=unit.retirees, qualification=unit.qualification, valid_from=unit.valid_from,
        valid_until=unit.valid_until, valid_today=units.valid_on(unit, bureau_today()), files_held=held.get(unit.id, 0),
    )  # fmt: skip


@router.get("/units", response_model=list[UnitOut])
def list_units(session: DbSession, user: CurrentUser) -> list[UnitOut]:
    """The bureau's streets, townships, communities (with the retirees each receives) and entrusted custodians."""
    held = units.held_counts(session, user.organisation_id)
    return [_unit_out(session, u, held) for u in units.list_units(session, user)]


@router.post("/units", response_model=UnitOut, status_code=201)
def register_unit(data: UnitIn, request: Request, session: DbSession, user: CurrentUser) -> UnitOut:
    typed = units.Particulars(**data.model_dump())
    return _unit_out(session, units.register_unit(session, user, typed, client_address(request)))


@router.put("/units/{unit_id}", response_model=UnitOut)
def change_unit(unit_id: int, data: UnitIn, request: Request, session: DbSession, user: CurrentUser) -> UnitOut:
    typed = units.Particulars(**data.model_dump())
    return _unit_out(session, units.change_unit(session, user, unit_id, typed, client_address(request)))
