from fastapi import APIRouter, Depends, Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from archive_service.auth.models import User
from archive_service.auth.permissions import Action, require
from archive_service.deps import DbSession, client_address, current_user
from archive_service.organisations import jurisdiction, service
from archive_service.organisations.models import Organisation
from archive_service.organisations.schemas import JurisdictionIn, JurisdictionOut, OrganisationIn, OrganisationOut

router = APIRouter(prefix="/api/organisations", tags=["organisations"])


@router.get("", response_model=list[OrganisationOut])
def list_organisations(session: Session = DbSession, user: User = Depends(current_user)) -> list:
    # Names and codes of organisations are public registry facts; no files are disclosed here.
    return list(session.scalars(select(Organisation).order_by(Organisation.id)))


@router.post("", response_model=OrganisationOut, status_code=201)
def create_organisation(
    data: OrganisationIn, session: Session = DbSession, user: User = Depends(current_user)
) -> Organisation:
    require(user, Action.manage_organisations)
    return service.create_organisation(session, data)


def _jurisdiction_out(rule: jurisdiction.JurisdictionRule) -> JurisdictionOut:
    text = jurisdiction.RULES[rule]
    return JurisdictionOut(rule=rule.value, name=text.name, basis=text.basis)


@router.get("/jurisdiction", response_model=JurisdictionOut)
def get_jurisdiction(session: Session = DbSession, user: User = Depends(current_user)) -> JurisdictionOut:
    """The rule by which the user's bureau decides which retirees' files it receives, with its clause."""
    bureau = session.get(Organisation, user.organisation_id)
    assert bureau is not None
    return _jurisdiction_out(jurisdiction.rule_of(bureau))


@router.put("/jurisdiction", response_model=JurisdictionOut)
def set_jurisdiction(
    data: JurisdictionIn, request: Request, session: Session = DbSession, user: User = Depends(current_user)
) -> JurisdictionOut:
    return _jurisdiction_out(service.set_jurisdiction(session, user, data.rule, client_address(request)))
