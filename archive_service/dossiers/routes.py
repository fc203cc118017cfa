from fastapi import APIRouter, Depends, Query
from sqlalchemy.orm import Session

from archive_service.auth.models import User
from archive_service.deps import DbSession, current_user
from archive_service.dossiers import service
from archive_service.dossiers.models import DossierStatus
from archive_service.dossiers.schemas import DossierDetail, DossierIn, DossierPage

router = APIRouter(prefix="/api/dossiers", tags=["dossiers"])


@router.get("", response_model=DossierPage)
def list_dossiers(
    q: str = Query("", max_length=64, description="姓名、档号、公民身份号码或其末位"),
    status: DossierStatus | None = None,
    enterprise_id: int | None = None,
    page: int = Query(1, ge=1, le=100_000),
    session: Session = DbSession,
    user: User = Depends(current_user),
) -> DossierPage:
    total, rows = service.list_dossiers(
        session, user, service.DossierQuery(text=q, status=status, enterprise_id=enterprise_id, page=page)
    )
    return DossierPage(total=total, page=page, page_size=service.PAGE_SIZE, items=[service.summary(d) for d in rows])


@router.get("/{dossier_id}", response_model=DossierDetail)
def get_dossier(
    dossier_id: int, session: Session = DbSession, user: User = Depends(current_user)
) -> DossierDetail:
    return service.detail(session, service.get_dossier(session, user, dossier_id))


@router.post("", response_model=DossierDetail, status_code=201)
def register_dossier(
    data: DossierIn, session: Session = DbSession, user: User = Depends(current_user)
) -> DossierDetail:
    dossier = service.register_existing(session, user, data)
    return service.detail(session, dossier)
