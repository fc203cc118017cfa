from dataclasses import asdict

from fastapi import APIRouter, Request, Response

from archive_service.access.log import AccessAction, record_access
from archive_service.auth import controls, passwords, qualifications, service
from archive_service.auth.models import User
from archive_service.auth.permissions import Action, require
from archive_service.auth.policy import Policy, bureau_policy, set_policy
from archive_service.auth.schemas import (
    CertificateIn,
    CertificateOut,
    ControlOut,
    LoginIn,
    PasswordChange,
    PasswordReset,
    QualificationPolicy,
    SecurityPolicyIn,
    SecurityPolicyOut,
    SessionOut,
    TokenOut,
    UserChange,
    UserIn,
    UserOut,
)
from archive_service.deps import CurrentUser, DbSession, client_address, request_token, xlsx_download

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
def login(data: LoginIn, request: Request, session: DbSession) -> TokenOut:
    """A token only for the password and, where the bureau's policy asks for it (or the person enrolled), the
    authenticator's code (`code`) or a recovery code (`recovery_code`) in the same call."""
    _, token = service.login(
        session, data.username, data.password, client_address(request), code=data.code,
        recovery_code=data.recovery_code, via="api", user_agent=request.headers.get("user-agent", ""),
    )  # fmt: skip
    return TokenOut(token=token)


@router.post("/auth/logout", status_code=204)
def logout(request: Request, session: DbSession, user: CurrentUser) -> None:
    token = request_token(request)
    if token:
        service.logout(session, token, client_address(request))


@router.post("/me/password", status_code=204)
def change_own_password(data: PasswordChange, request: Request, session: DbSession, user: CurrentUser) -> None:
    """Change one's own password (the bureau's rules; not one of the last few); other sessions end."""
    passwords.change_own(session, user, data.current_password, data.new_password, client_address(request))


@router.get("/me/sessions", response_model=list[SessionOut])
def my_sessions(session: DbSession, user: CurrentUser) -> list:
    return service.sessions_of(session, user)


@router.delete("/me/sessions/{session_id}", status_code=204)
def end_my_session(session_id: int, request: Request, session: DbSession, user: CurrentUser) -> None:
    service.end_session(session, user, session_id, client_address(request))


@router.get("/users/{user_id}/sessions", response_model=list[SessionOut])
def account_sessions(user_id: int, session: DbSession, user: CurrentUser) -> list:
    """An account's open sessions, for the security officer."""
    require(user, Action.manage_security)
    return service.sessions_of(session, service.account_in_reach(session, user, user_id))


@router.delete("/users/{user_id}/sessions/{session_id}", status_code=204)
def end_account_session(user_id: int, session_id: int, request: Request, session: DbSession, user: CurrentUser) -> None:
    require(user, Action.manage_security)
    service.account_in_reach(session, user, user_id)
    service.end_session(session, user, session_id, client_address(request))


@router.post("/users/{user_id}/password", status_code=204)
def reset_password(
    user_id: int,
    data: PasswordReset,
    request: Request,
    session: DbSession,
    user: CurrentUser,
) -> None:
    """The security officer gives a temporary password, to be changed at the next login; the account's sessions end."""
    require(user, Action.manage_security)
    service.reset_password(session, user, user_id, data.password, client_address(request))


@router.post("/users/{user_id}/two-factor/reset", status_code=204)
def reset_two_factor(user_id: int, request: Request, session: DbSession, user: CurrentUser) -> None:
    """A lost authenticator: the person binds a new one at the next login."""
    require(user, Action.manage_security)
    service.reset_two_factor(session, user, user_id, client_address(request))


def _policy_out(policy: Policy) -> SecurityPolicyOut:
    values = asdict(policy)
    values["two_factor_roles"] = sorted(policy.two_factor_roles)
    return SecurityPolicyOut(**values)


@router.get("/security/policy", response_model=SecurityPolicyOut)
def get_security_policy(session: DbSession, user: CurrentUser) -> SecurityPolicyOut:
    require(user, Action.view_security_controls)
    return _policy_out(bureau_policy(session, user.organisation_id))


@router.put("/security/policy", response_model=SecurityPolicyOut)
def put_security_policy(
    data: SecurityPolicyIn, request: Request, session: DbSession, user: CurrentUser
) -> SecurityPolicyOut:
    """The security officer sets the bureau's policy; each figure within its bounds; logged before → after."""
    changes = data.model_dump(exclude_none=True)
    if data.log_retention_days == -1:
        changes.pop("log_retention_days", None)
    elif data.log_retention_days is None:
        changes["log_retention_days"] = None
    return _policy_out(set_policy(session, user, changes, client_address(request)))


@router.get("/security/controls", response_model=list[ControlOut])
def security_controls(session: DbSession, user: CurrentUser) -> list:
    """Every level-3 control, how the bureau set it and its state (the assessor's list)."""
    require(user, Action.view_security_controls)
    return [asdict(c) for c in controls.controls(session, user.organisation)]


@router.get("/security/controls.xlsx")
def security_controls_xlsx(request: Request, session: DbSession, user: CurrentUser) -> Response:
    require(user, Action.view_security_controls)
    data = controls.controls_xlsx(user.organisation, controls.controls(session, user.organisation))
    record_access(session, user, AccessAction.export, client_address(request), detail="导出安全控制状态表")
    return xlsx_download(data, f"{user.organisation.name}安全控制状态.xlsx")


@router.get("/me", response_model=UserOut)
def me(user: CurrentUser) -> UserOut:
    return user_out(user)


@router.post("/users", response_model=UserOut, status_code=201)
def create_user(data: UserIn, request: Request, session: DbSession, user: CurrentUser) -> UserOut:
    """An account for the administrator's own organisation, or a requester's for an agency or community.
    The creation is on the access log, which the bureau's auditor reads."""
    require(user, Action.manage_users)
    return user_out(service.add_account(session, user, client_address(request), **data.model_dump()))


@router.patch("/users/{user_id}", response_model=UserOut)
def change_user(user_id: int, data: UserChange, request: Request, session: DbSession, user: CurrentUser) -> UserOut:
    """Change an account's role or disable it (signed out at once); recorded before → after on the access log."""
    require(user, Action.manage_users)
    return user_out(service.change_account(session, user, user_id, client_address(request), data.role, data.active))


@router.get("/users/{user_id}/certificates", response_model=list[CertificateOut])
def list_certificates(user_id: int, session: DbSession, user: CurrentUser) -> list:
    """Training and post certificates of a member of the administrator's bureau."""
    return list(qualifications.certificates(session, qualifications.staff_member(session, user, user_id).id))


@router.post("/users/{user_id}/certificates", response_model=CertificateOut, status_code=201)
def record_certificate(
    user_id: int,
    data: CertificateIn,
    request: Request,
    session: DbSession,
    user: CurrentUser,
) -> object:
    """Record a certificate (大政办发〔2017〕49号 第十七条: 持证上岗); on the access log."""
    return qualifications.record_certificate(session, user, user_id, client_address(request), **data.model_dump())


@router.put("/organisations/staff-qualification", response_model=QualificationPolicy)
def set_qualification_policy(
    data: QualificationPolicy, request: Request, session: DbSession, user: CurrentUser
) -> QualificationPolicy:
    """Whether the bureau gives the archivist role only to holders of a valid certificate; logged."""
    qualifications.set_requirement(session, user, data.required, client_address(request))
    return data
