from sqlalchemy import select
from sqlalchemy.orm import Session

from archive_service.errors import ArchiveError
from archive_service.organisations.models import Organisation
from archive_service.organisations.schemas import OrganisationIn


def create_organisation(session: Session, data: OrganisationIn) -> Organisation:
    if session.scalar(select(Organisation.id).where(Organisation.credit_code == data.credit_code)):
        raise ArchiveError("credit_code.duplicate", f"统一社会信用代码 {data.credit_code} 已登记", "credit_code", 409)
    if data.fonds_code and session.scalar(select(Organisation.id).where(Organisation.fonds_code == data.fonds_code)):
        raise ArchiveError("fonds_code.duplicate", f"全宗号 {data.fonds_code} 已被使用", "fonds_code", 409)
    organisation = Organisation(**data.model_dump())
    session.add(organisation)
    session.flush()
    return organisation
