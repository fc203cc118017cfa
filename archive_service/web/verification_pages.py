"""校对与复核 page: a digitised file's fact values and weakest OCR lines, each beside the crop it was read from.

Each reading is a form of its own, so Enter submits it with or without scripts; the page's script sends it
to the API instead and moves on to the next reading without reloading (the pace a clerk keeps)."""

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from archive_service.auth.models import User
from archive_service.deps import CurrentUser, DbSession, Store
from archive_service.dossiers.service import get_dossier
from archive_service.errors import ArchiveError
from archive_service.verification import service
from archive_service.verification.layer import STATE_LABELS
from archive_service.web.forms import refusal_shows
from archive_service.web.rendering import templates
from storage import ObjectStore

router = APIRouter(include_in_schema=False)


def _page(
    request: Request,
    session: Session,
    store: ObjectStore,
    user: User,
    dossier_id: int,
    refused: tuple[str, str, ArchiveError] | None = None,  # (ref, typed value, error)
    below: float = service.LINE_CONFIDENCE_BELOW,
) -> HTMLResponse:
    dossier = get_dossier(session, user, dossier_id)
    work = service.worklist(session, store, user, dossier, below)
    counts = {label: sum(1 for r in work.all if r.state == state) for state, label in STATE_LABELS.items()}
    return templates.TemplateResponse(
        request,
        "verification.html",
        {
            "user": user,
            "d": dossier,
            "work": work,
            "counts": counts,
            "STATE_LABELS": STATE_LABELS,
            "below": service.LINE_CONFIDENCE_BELOW,
            "refused": refused,
        },  # fmt: skip
        status_code=refused[2].status if refused else 200,
    )


@router.get("/dossiers/{dossier_id}/verification", response_class=HTMLResponse)
def verification_page(
    dossier_id: int,
    request: Request,
    session: DbSession,
    store: Store,
    user: CurrentUser,
    below: float = Query(service.LINE_CONFIDENCE_BELOW, ge=0, le=100),  # lines the OCR was less sure of than this
) -> HTMLResponse:
    return _page(request, session, store, user, dossier_id, below=below)


@router.post("/dossiers/{dossier_id}/verification/{ref}", response_class=HTMLResponse)
def check_from_page(
    dossier_id: int,
    ref: str,
    request: Request,
    session: DbSession,
    store: Store,
    user: CurrentUser,
    value: str = Form(""),
    version: str = Form(""),
) -> Response:
    """Enter without the page's script: the step, then the page again at the next reading; a refusal comes
    back in the reading's row with the value as typed."""
    with refusal_shows(session, lambda error: _page(request, session, store, user, dossier_id, (ref, value, error))):
        if not version.isdigit():
            raise ArchiveError("reading.version", "版本号应为非负整数，请刷新页面", "version")
        dossier = get_dossier(session, user, dossier_id)
        service.check(session, store, user, dossier, ref, value, int(version))
        session.commit()
    return RedirectResponse(f"/dossiers/{dossier_id}/verification#r-{ref}", status_code=303)


@router.post("/dossiers/{dossier_id}/verification-into-copy", response_class=HTMLResponse)
def write_into_use_copy(
    dossier_id: int,
    request: Request,
    session: DbSession,
    store: Store,
    user: CurrentUser,
) -> Response:
    """校对结果写入数字副本: a refusal (nothing corrected yet) comes back on the page."""
    with refusal_shows(session, lambda error: _page(request, session, store, user, dossier_id, ("", "", error))):
        copy = service.write_into_use_copy(session, store, user, get_dossier(session, user, dossier_id))
        session.commit()
    return RedirectResponse(f"/dossiers/{dossier_id}/verification?written={copy.version}", status_code=303)
