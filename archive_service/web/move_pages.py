"""Moves and the retiree's 转入申请 (002 第二十二条; transfers/moves.py): the list of moves that take a file out
of the bureau's area and still wait for the application, and recording the application from the file's
page, which starts the 转递."""

import tempfile
from pathlib import Path

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from archive_service.deps import CurrentUser, DbSession, Store
from archive_service.dossiers.service import get_dossier
from archive_service.transfers import moves
from archive_service.uploads import saved_scans
from archive_service.web.dossier_pages import dossier_page_refused
from archive_service.web.forms import refusal_shows
from archive_service.web.rendering import form_choice, form_date, templates

router = APIRouter(include_in_schema=False)


@router.get("/transfers/moves", response_class=HTMLResponse)
def moves_page(request: Request, session: DbSession, user: CurrentUser) -> Response:
    rows = moves.awaiting(session, user)
    return templates.TemplateResponse(request, "moves.html", {"user": user, "rows": rows, "basis": moves.BASIS})


@router.post("/dossiers/{dossier_id}/transfer-application")
def record_application(
    request: Request,
    dossier_id: int,
    session: DbSession,
    store: Store,
    user: CurrentUser,
    applied_on: str = Form(""),
    to_org_id: str = Form(""),
    document: str = Form(""),
    application_scan: UploadFile | None = File(None),
) -> Response:
    with refusal_shows(session, lambda error: dossier_page_refused(request, session, user, dossier_id, error)):
        dossier = get_dossier(session, user, dossier_id)
        when = form_date(applied_on, "applied_on") if applied_on.strip() else None
        bureau = form_choice(to_org_id, "to_org_id", "申请转入的档案馆")
        with tempfile.TemporaryDirectory() as folder:
            path = (
                saved_scans([application_scan], Path(folder))[0]
                if application_scan is not None and application_scan.filename
                else None
            )
            moves.record_application(session, store, user, dossier, when, bureau, document, path)
        session.commit()
    return RedirectResponse(f"/dossiers/{dossier_id}?saved=application#move-next", status_code=303)
