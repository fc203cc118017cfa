"""The security page (安全控制): for the assessor, every level-3 control and its state, with an export; for the
security officer, the bureau's security policy to set; for both, a check of the log's chain on demand."""

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from archive_service.access.log import verify_and_record
from archive_service.auth import controls
from archive_service.auth.login_delays import KNOWN_ADDRESS_DAYS, TARGETED_ADDRESSES, targeted_accounts
from archive_service.auth.models import Role, User
from archive_service.auth.permissions import Action, can, require
from archive_service.auth.policy import BOUNDS, HASH_ALGORITHMS, LABELS, bureau_policy, set_policy
from archive_service.deps import CurrentUser, DbSession, client_address
from archive_service.errors import ArchiveError
from archive_service.web.forms import refusal_shows
from archive_service.web.rendering import form_number, templates

router = APIRouter(include_in_schema=False)


def _security_page(request: Request, session: Session, user: User, error: ArchiveError | None = None) -> HTMLResponse:
    require(user, Action.view_security_controls)
    return templates.TemplateResponse(
        request,
        "security.html",
        {
            "user": user,
            "controls": controls.controls(session, user.organisation),
            "policy": bureau_policy(session, user.organisation_id),
            "bounds": BOUNDS,
            "labels": LABELS,
            "roles": [r for r in Role],
            "algorithms": HASH_ALGORITHMS,
            "can_set": can(user, Action.manage_security),
            # Names failed from several addresses today: someone elsewhere is trying them (they wait; the owner
            # at a known address does not).
            "targeted": targeted_accounts(session, user.organisation_id),
            "targeted_addresses": TARGETED_ADDRESSES,
            "known_days": KNOWN_ADDRESS_DAYS,
            "error": error,
            "done": request.query_params.get("done", ""),
        },
        status_code=error.status if error else 200,
    )


@router.get("/security", response_class=HTMLResponse)
def security_page(request: Request, session: DbSession, user: CurrentUser) -> Response:
    return _security_page(request, session, user)


@router.post("/security/policy")
async def save_policy(request: Request, session: DbSession, user: CurrentUser) -> Response:
    form = await request.form()
    with refusal_shows(session, lambda error: _security_page(request, session, user, error)):
        changes: dict[str, object] = {
            name: form_number(str(form.get(name, "")), name, int) for name in BOUNDS if str(form.get(name, "")).strip()
        }
        retention = str(form.get("log_retention_days", "")).strip()
        changes["log_retention_days"] = form_number(retention, "log_retention_days", int) if retention else None
        changes["two_factor_roles"] = [str(r) for r in form.getlist("two_factor_roles")]
        changes["change_at_first_login"] = form.get("change_at_first_login") == "yes"
        changes["hash_algorithm"] = str(form.get("hash_algorithm", "sha256"))
        set_policy(session, user, changes, client_address(request))
    return RedirectResponse("/security?done=已保存本馆安全策略", status_code=303)


@router.post("/security/verify")
def verify_log(request: Request, session: DbSession, user: CurrentUser) -> Response:
    require(user, Action.view_security_controls)
    report = verify_and_record(session, user, client_address(request))
    said = (
        f"日志链完好：{report.entries} 条" if report.ok else f"日志链在序号 {report.broken_seq} 处断裂：{report.reason}"
    )
    return RedirectResponse(f"/security?done={said}", status_code=303)
