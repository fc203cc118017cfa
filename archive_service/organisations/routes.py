from fastapi import APIRouter, Depends
from sqlalchemy import select
from sqlalchemy.orm import Session

from archive_service.auth.models import User
from archive_service.auth.permissions import Action, require
from archive_service.deps import DbSession, current_user
from archive_service.organisations import service
from archive_service.organisations.models import Organisation
from archive_service.organisations.schemas import OrganisationIn, OrganisationOut

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
