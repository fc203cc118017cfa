from fastapi import APIRouter, Depends, Request
from sqlalchemy.orm import Session

from archive_service.auth import qualifications, service
from archive_service.auth.models import User
from archive_service.auth.permissions import Action, require
from archive_service.auth.schemas import (
    CertificateIn,
    CertificateOut,
    LoginIn,
    QualificationPolicy,
    TokenOut,
    UserChange,
    UserIn,
    UserOut,
)
from archive_service.deps import DbSession, client_address, current_user, request_token

router = APIRouter(prefix="/api", tags=["auth"])


def user_out(user: User) -> UserOut:
    return UserOut(
        id=user.id,
        username=user.username,
        display_name=user.display_name,
        role=user.role,
        organisation_id=user.organisation_id,
        organisation_name=user.organisation.name,
    )


@router.post("/auth/login", response_model=TokenOut)
def login(data: LoginIn, request: Request, session: Session = DbSession) -> TokenOut:
    _, token = service.login(session, data.username, data.password, client_address(request))
    return TokenOut(token=token)


@router.post("/auth/logout", status_code=204)
def logout(request: Request, session: Session = DbSession, user: User = Depends(current_user)) -> None:
    token = request_token(request)
    if token:
        service.logout(session, token)


@router.get("/me", response_model=UserOut)
def me(user: User = Depends(current_user)) -> UserOut:
    return user_out(user)


@router.post("/users", response_model=UserOut, status_code=201)
def create_user(
    data: UserIn, request: Request, session: Session = DbSession, user: User = Depends(current_user)
) -> UserOut:
    """An account for the administrator's own organisation, or a requester's for an agency or community.
    The creation is on the access log, which the bureau's auditor reads."""
    require(user, Action.manage_users)
    return user_out(service.add_account(session, user, client_address(request), **data.model_dump()))


@router.patch("/users/{user_id}", response_model=UserOut)
def change_user(
    user_id: int, data: UserChange, request: Request, session: Session = DbSession, user: User = Depends(current_user)
) -> UserOut:
    """Change an account's role or disable it (signed out at once); recorded before → after on the access log."""
    require(user, Action.manage_users)
    return user_out(service.change_account(session, user, user_id, client_address(request), data.role, data.active))


@router.get("/users/{user_id}/certificates", response_model=list[CertificateOut])
def list_certificates(user_id: int, session: Session = DbSession, user: User = Depends(current_user)) -> list:
    """Training and post certificates of a member of the administrator's bureau."""
    return list(qualifications.certificates(session, qualifications.staff_member(session, user, user_id).id))


@router.post("/users/{user_id}/certificates", response_model=CertificateOut, status_code=201)
def record_certificate(
    user_id: int,
    data: CertificateIn,
    request: Request,
    session: Session = DbSession,
    user: User = Depends(current_user),
) -> object:
    """Record a certificate (大政办发〔2017〕49号 第十七条: 持证上岗); on the access log."""
    return qualifications.record_certificate(session, user, user_id, client_address(request), **data.model_dump())


@router.put("/organisations/staff-qualification", response_model=QualificationPolicy)
def set_qualification_policy(
    data: QualificationPolicy, request: Request, session: Session = DbSession, user: User = Depends(current_user)
) -> QualificationPolicy:
    """Whether the bureau gives the archivist role only to holders of a valid certificate; logged."""
    qualifications.set_requirement(session, user, data.required, client_address(request))
    return data
