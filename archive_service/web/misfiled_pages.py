"""The archivist's decision on a page flagged 疑似他人材料, from the dossier page: it belongs here, or it is
another person's and is taken out of the file (a new use copy from the masters). digitisation/misfiled.py."""

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from archive_service.adapters import object_store
from archive_service.deps import CurrentUser, DbSession, client_address
from archive_service.digitisation import misfiled
from archive_service.dossiers.service import get_dossier
from archive_service.web.dossier_pages import dossier_page_refused
from archive_service.web.forms import refusal_shows

router = APIRouter(include_in_schema=False)


@router.post("/dossiers/{dossier_id}/misfiled/{page}")
def decide_misfiled_page(
    request: Request,
    dossier_id: int,
    page: int,
    session: DbSession,
    user: CurrentUser,
    outcome: str = Form(""),
    reason: str = Form(""),
    drop_entry: str = Form(""),
) -> Response:
    with refusal_shows(session, lambda error: dossier_page_refused(request, session, user, dossier_id, error)):
        dossier = get_dossier(session, user, dossier_id)
        misfiled.decide_page(
            session, object_store(), user, dossier, page, outcome, reason, client_address(request),
            drop_entry=drop_entry == "yes",
        )  # fmt: skip
    return RedirectResponse(f"/dossiers/{dossier_id}#misfiled-pages", status_code=303)
