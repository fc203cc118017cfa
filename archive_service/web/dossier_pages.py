"""The home page (工作台) and a dossier's pages: list, page, its forms, its use copy and 核查表."""

import base64
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from archive_service.access import service as access
from archive_service.access.loans import overdue_loans
from archive_service.access.log import AccessAction, record_access
from archive_service.adapters import object_store
from archive_service.auth.models import Role, User
from archive_service.auth.permissions import Action, can, require
from archive_service.db import as_utc
from archive_service.deps import (
    CurrentUser,
    DbSession,
    Store,
    client_address,
    stored_object_shown,
    xlsx_download,
)
from archive_service.digitisation import misfiled, page_counts
from archive_service.digitisation import service as digitisation
from archive_service.digitisation.backlog import backlog
from archive_service.dossiers import catalogue, catalogue_rows, facts, life_events, missing
from archive_service.dossiers import secrecy as secrecy_rule
from archive_service.dossiers import service as dossiers
from archive_service.dossiers.models import ClassScheme, DigitalObject, Dossier, DossierStatus, LifeEventKind
from archive_service.dossiers.sent_on import sent_on_record
from archive_service.errors import ArchiveError, NotFound
from archive_service.holdings.models import HoldingsEntry
from archive_service.jobs.models import Job, JobKind, JobState
from archive_service.organisations import units
from archive_service.preservation.service import fixity_alerts
from archive_service.shelving.climate import climate_alerts
from archive_service.shelving.models import ShelfSlot
from archive_service.shelving.placement import unshelved
from archive_service.transfers import moves, supplements
from archive_service.transfers import service as transfers
from archive_service.uploads import saved_scans
from archive_service.values import SECRECY_LABELS
from archive_service.web.forms import refusal_shows
from archive_service.web.rendering import form_date, render_error, templates

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def dashboard(request: Request, session: DbSession, user: CurrentUser) -> Response:
    if user.role is Role.requester:  # requesters work through their requests only
        return RedirectResponse("/requests", status_code=303)
    if user.role is Role.security_officer:  # accounts and the security controls, never the files
        return RedirectResponse("/security", status_code=303)
    counts = dossiers.dashboard_counts(session, user)
    open_transfers = transfers.open_batch_count(session, user.organisation_id)
    waiting_requests = access.waiting_request_count(session, user.organisation_id)
    alerts = fixity_alerts(session, user.organisation_id)
    paper = backlog(session, user.organisation_id)
    return templates.TemplateResponse(
        request,
        "dashboard.html",
        {
            "user": user,
            "fixity_alerts": alerts,
            "counts": counts,
            "statuses": list(DossierStatus),
            "total": sum(counts.values()),
            "open_transfers": open_transfers,
            "waiting_requests": waiting_requests,
            "overdue_loans": overdue_loans(session, user.organisation_id),
            "climate_alerts": climate_alerts(session, user.organisation_id),
            "backlog": paper,
            "unshelved": len(unshelved(session, user)) if can(user, Action.view_dossiers) else None,
        },
    )


@router.get("/dossiers", response_class=HTMLResponse)
def dossier_list(
    request: Request,
    session: DbSession,
    user: CurrentUser,
    q: str = "",
    status: str = "",
    digitisation: str = "",
    page: int = 1,
) -> HTMLResponse:
    chosen = DossierStatus(status) if status in DossierStatus.__members__ else None
    awaiting = digitisation == "pending"
    query = dossiers.DossierQuery(text=q[:64], status=chosen, awaiting_digitisation=awaiting, page=page)
    total, rows = dossiers.list_dossiers(session, user, query)
    pages = max(1, -(-total // dossiers.PAGE_SIZE))
    return templates.TemplateResponse(
        request,
        "dossiers.html",
        {
            "user": user,
            "rows": rows,
            "total": total,
            "q": q,
            "status": status,
            "page": page,
            "pages": pages,
            "statuses": list(DossierStatus),
            "awaiting": awaiting,
            "qs": f"q={quote(q)}&status={quote(status)}" + ("&digitisation=pending" if awaiting else ""),
        },
    )


@router.get("/dossiers/{dossier_id}/copy.pdf")
def dossier_use_copy(
    dossier_id: int,
    request: Request,
    session: DbSession,
    store: Store,
    user: CurrentUser,
) -> StreamingResponse:
    """The PDF/A use copy, for custody work by the bureau's own staff (requesters go through requests)."""
    require(user, Action.read_digital_copy)
    dossier = dossiers.get_dossier(session, user, dossier_id)
    use_copy = digitisation.latest_use_copy(session, dossier)
    if use_copy is None:
        raise NotFound(f"{dossier.archival_code} 的数字副本", "dossier_id")
    # Logged and committed before a byte is sent.
    record_access(
        session,
        user,
        AccessAction.view_copy,
        client_address(request),
        dossier_id=dossier.id,
        detail=f"{use_copy.name} v{use_copy.version}",
    )
    return stored_object_shown(store, use_copy)


@router.get("/dossiers/{dossier_id}", response_class=HTMLResponse)
def dossier_page(
    dossier_id: int,
    request: Request,
    session: DbSession,
    user: CurrentUser,
    page: int | None = None,  # a search hit's page: the copy opens there
) -> HTMLResponse:
    try:
        return _dossier_page(request, session, user, dossier_id, page)
    except ArchiveError as error:
        if error.code != "dossier.sent_on":
            raise
    # A file the bureau sent on: its read-only record (dossiers.sent_on), not the file.
    sent = sent_on_record(session, user.organisation_id, dossier_id)
    return templates.TemplateResponse(request, "dossier_sent_on.html", {"user": user, "sent": sent})


@router.post("/dossiers/{dossier_id}/catalogue", response_class=HTMLResponse)
async def save_catalogue(dossier_id: int, request: Request, session: DbSession, user: CurrentUser) -> Response:
    """目录著录 from the dossier page: the whole list in one form; a refused one comes back as typed.
    The form is read here; the database work runs in the threadpool, off the event loop."""
    form = await request.form()
    columns = {key: [str(v) for v in form.getlist(key)] for key in ("id", *catalogue_rows.FIELDS)}
    count = max((len(v) for v in columns.values()), default=0)
    rows = [{key: (values[n] if n < len(values) else "") for key, values in columns.items()} for n in range(count)]
    rows = [r for r in rows if any(v.strip() for k, v in r.items() if k not in ("id", "copies"))]  # blank rows
    source = str(form.get("source", "typed"))
    return await run_in_threadpool(_save_catalogue, request, session, user, dossier_id, rows, source)


def _save_catalogue(
    request: Request, session: Session, user: User, dossier_id: int, rows: list[dict[str, str]], source: str
) -> Response:
    try:
        dossier = dossiers.get_dossier(session, user, dossier_id)
        catalogue.save_catalogue(session, object_store(), user, dossier, rows, source=source)
    except ArchiveError as error:
        session.rollback()
        if error.problems is None:
            return render_error(request, error)
        return _dossier_page(request, session, user, dossier_id, None, rows, error, source)
    return RedirectResponse(f"/dossiers/{dossier_id}?saved=catalogue#catalogue", status_code=303)


@router.post("/dossiers/{dossier_id}/facts", response_class=HTMLResponse)
def confirm_fact(
    dossier_id: int,
    request: Request,
    session: DbSession,
    user: CurrentUser,
    kind: str = Form(""),
    value: str = Form(""),
    page: str = Form(""),
    note: str = Form(""),
) -> Response:
    """The archivist accepts a fact's value on the fact sheet; a refusal comes back beside the sheet."""
    with refusal_shows(session, lambda error: dossier_page_refused(request, session, user, dossier_id, error)):
        require(user, Action.confirm_facts)
        dossier = dossiers.get_dossier(session, user, dossier_id)
        if page.strip() and not page.strip().isdigit():
            raise ArchiveError("fact.page", "依据页码应为正整数", "page")
        facts.confirm(session, user, dossier, kind, value, int(page) if page.strip() else None, note)
        session.commit()
    return RedirectResponse(f"/dossiers/{dossier_id}?saved=facts#facts", status_code=303)


@router.post("/dossiers/{dossier_id}/page-count", response_class=HTMLResponse)
def explain_page_count(
    dossier_id: int,
    request: Request,
    session: DbSession,
    user: CurrentUser,
    pages: str = Form(""),
    reason: str = Form(""),
) -> Response:
    """The archivist's note on a copy whose pages do not agree with the register (digitisation.page_counts)."""
    with refusal_shows(session, lambda error: dossier_page_refused(request, session, user, dossier_id, error)):
        if not pages.strip().isdigit():
            raise ArchiveError("pages.invalid", "纸质档案实有页数应为正整数", "pages")
        page_counts.explain(session, user, dossiers.get_dossier(session, user, dossier_id), int(pages), reason)
        session.commit()
    return RedirectResponse(f"/dossiers/{dossier_id}?saved=page-count#page-count-check", status_code=303)


@router.post("/dossiers/{dossier_id}/secrecy", response_class=HTMLResponse)
def set_secrecy(
    dossier_id: int,
    request: Request,
    session: DbSession,
    user: CurrentUser,
    secrecy: str = Form(""),
) -> Response:
    """The archivist records the file's 密级 (dossiers/secrecy.py)."""
    with refusal_shows(session, lambda error: dossier_page_refused(request, session, user, dossier_id, error)):
        secrecy_rule.set_secrecy(session, user, dossier_id, secrecy, client_address(request))
        session.commit()
    return RedirectResponse(f"/dossiers/{dossier_id}?saved=secrecy#secrecy-form", status_code=303)


@router.post("/dossiers/{dossier_id}/life-events", response_class=HTMLResponse)
def record_life_event(
    dossier_id: int,
    request: Request,
    session: DbSession,
    user: CurrentUser,
    kind: str = Form(""),
    occurred_on: str = Form(""),
    source_document: str = Form(""),
    region_code: str = Form(""),
) -> Response:
    """A death, conviction, disappearance, emigration or move; the page then says what a move means for the
    file (it waits for the retiree's 转入申请 where it takes the file out of the area: nothing is sent)."""
    with refusal_shows(session, lambda error: dossier_page_refused(request, session, user, dossier_id, error)):
        when = form_date(occurred_on, "occurred_on") if occurred_on.strip() else None
        life_events.record_life_event(session, user, dossier_id, kind, when, source_document, region_code)
        session.commit()
    return RedirectResponse(f"/dossiers/{dossier_id}?saved=life-event#life-events", status_code=303)


@router.post("/dossiers/{dossier_id}/missing-materials", response_class=HTMLResponse)
def record_missing_material(
    dossier_id: int,
    request: Request,
    session: DbSession,
    store: Store,
    user: CurrentUser,
    class_code: str = Form(""),
    description: str = Form(""),
    issued_by: str = Form(""),
    certificate: UploadFile | None = File(None),
) -> Response:
    """A missing material and the scan of its certificate, kept with the file (001 第九条(一))."""
    with refusal_shows(session, lambda error: dossier_page_refused(request, session, user, dossier_id, error)):
        dossier = dossiers.get_dossier(session, user, dossier_id)
        if certificate is None or not certificate.filename:
            raise ArchiveError("certificate.required", "请选择证明材料的扫描件", "certificate", 422)
        with tempfile.TemporaryDirectory() as folder:
            (path,) = saved_scans([certificate], Path(folder))
            missing.record_missing(session, store, user, dossier, class_code, description, issued_by, path)
        session.commit()
    return RedirectResponse(f"/dossiers/{dossier_id}?saved=missing#missing-materials", status_code=303)


@router.get("/dossiers/{dossier_id}/missing-materials/{missing_id}/certificate")
def missing_certificate(
    dossier_id: int,
    missing_id: int,
    request: Request,
    session: DbSession,
    store: Store,
    user: CurrentUser,
) -> Response:
    """The certificate scan as stored, for custody staff who read the file's copies (logged before it is sent)."""
    require(user, Action.read_digital_copy)
    dossier = dossiers.get_dossier(session, user, dossier_id)
    entry = next((m for m in missing.missing_of(session, dossier.id) if m.id == missing_id), None)
    if entry is None:
        raise NotFound("没有这份缺失材料证明")
    record_access(
        session, user, AccessAction.view_certificate, client_address(request), dossier_id=dossier.id,
        detail=f"缺失材料证明 {entry.id}：{entry.description}",
    )  # fmt: skip
    return stored_object_shown(store, entry.certificate)


@router.get("/dossiers/{dossier_id}/facts.xlsx")
def fact_checklist(dossier_id: int, request: Request, session: DbSession, user: CurrentUser) -> Response:
    """The 核查表 of the whole file, for custody staff who read its pages (logged before it is sent)."""
    require(user, Action.read_digital_copy)
    dossier = dossiers.get_dossier(session, user, dossier_id)
    data = facts.hand_out_checklist(session, user, dossier, client_address(request))
    return xlsx_download(data, f"{dossier.archival_code}-核查表.xlsx")


def dossier_page_refused(
    request: Request, session: Session, user: User, dossier_id: int, error: ArchiveError
) -> Response:
    """A form of the dossier page was refused: the page again, the error beside that form."""
    session.rollback()
    return _dossier_page(request, session, user, dossier_id, None, error=error)


def _failed_digitisation(session: Session, dossier: Dossier, use_copy: DigitalObject | None) -> Job | None:
    """The dossier's last digitisation job when it failed and nothing came after it: its reason is shown on
    the dossier page, where the archivist scans again (not only on the jobs page)."""
    last = session.scalars(
        select(Job).where(Job.dossier_id == dossier.id, Job.kind == JobKind.digitise).order_by(Job.id.desc()).limit(1)
    ).first()
    if last is None or last.state is not JobState.failed:
        return None
    if use_copy is not None and as_utc(use_copy.created_at) > as_utc(last.created_at):
        return None
    return last


def _dossier_page(
    request: Request,
    session: Session,
    user: User,
    dossier_id: int,
    page: int | None,
    typed_rows: list[dict[str, str]] | None = None,
    catalogue_error: ArchiveError | None = None,
    catalogue_source: str | None = None,
    error: ArchiveError | None = None,
) -> HTMLResponse:
    """The dossier page; `error` is a refused form of this page (supplement, shelving, digitising …),
    shown beside that form, which comes back as typed (web/forms.py)."""
    dossier = dossiers.get_dossier(session, user, dossier_id)
    editable = catalogue.may_edit(session, user, dossier)
    # The proposal is read from the sidecar in the store, so only for those who may take it into the
    # catalogue, and only where it is wanted: a file with no catalogue yet, or when asked for.
    wanted = editable and (not dossier.materials or "proposal" in request.query_params)
    proposed = catalogue.proposal(session, object_store(), dossier) if wanted else []
    if typed_rows is None and request.query_params.get("proposal") == "use" and proposed:
        typed_rows, catalogue_source = proposed, "proposal"  # the proposal taken into the form, to check and save
    use_copy = digitisation.latest_use_copy(session, dossier)
    thumbnails = _proposal_thumbnails(request, session, user, dossier, use_copy, proposed)
    findings = digitisation.findings_of(use_copy) if use_copy else []
    confidences = [c for c in (use_copy.page_confidence or []) if c is not None] if use_copy else []
    return templates.TemplateResponse(
        request,
        "dossier.html",
        {
            "use_copy": use_copy,
            "open_page": page,
            "can_read_copy": can(user, Action.read_digital_copy),
            "can_digitise": can(user, Action.digitise) and dossier.custodian_id == user.organisation_id,
            # A list, not the open result: a template that does not show it would leave the read open (db.py).
            "jobs": list(
                session.scalars(select(Job).where(Job.dossier_id == dossier.id).order_by(Job.id.desc()).limit(5))
            ),
            "failed_job": _failed_digitisation(session, dossier, use_copy),
            "can_shelve": can(user, Action.manage_shelving),
            # Streets and custodians a file in the store may be given to keep (dossiers/held_elsewhere.py).
            "keep_units": units.list_units(session, user)
            if can(user, Action.manage_shelving) and dossier.status is DossierStatus.in_custody
            else [],
            "can_read_log": can(user, Action.read_audit_log),
            "supplements": supplements.of_dossier(session, user, dossier.id),
            "can_submit_supplement": can(user, Action.receive_transfers),
            "can_review_supplement": can(user, Action.register_dossier),
            "qc_warnings": [f for f in findings if f.severity != "info"],
            "qc_records": [f for f in findings if f.severity == "info"],
            "page_count": page_counts.latest(session, dossier),
            "mean_confidence": sum(confidences) / len(confidences) if confidences else None,
            "user": user,
            "d": dossier,
            "r": dossier.retiree,
            "catalogue": dossiers.catalogue_by_top_class(session, dossier),
            "custody": dossiers.custody_history(session, dossier),
            "scheme_name": session.get(ClassScheme, dossier.class_scheme).name,  # type: ignore[union-attr]
            "slot": session.get(ShelfSlot, dossier.shelf_slot_id) if dossier.shelf_slot_id else None,
            "ledger_entry": session.get(HoldingsEntry, dossier.id),  # a file brought in from an old ledger
            "can_complete_id": can(user, Action.import_holdings) and dossier.custodian_id == user.organisation_id,
            "can_edit_catalogue": editable,
            "catalogue_rows": typed_rows if typed_rows is not None else catalogue.form_rows(dossier),
            "catalogue_error": catalogue_error,
            "catalogue_bad": {(p["row"], p["field"]) for p in catalogue_error.problems or []}
            if catalogue_error
            else set(),
            "catalogue_revisions": catalogue.revisions(session, dossier),
            "misfiled": misfiled.flags(session, object_store(), dossier) if use_copy else [],
            "misfiled_decisions": misfiled.decisions(session, dossier),
            "can_decide_misfiled": can(user, Action.digitise) and dossier.custodian_id == user.organisation_id,
            # The facts come from the pages' text: for those who may read the pages.
            "facts": facts.fact_sheet(session, dossier) if can(user, Action.read_digital_copy) and use_copy else None,
            "can_confirm_facts": can(user, Action.confirm_facts) and dossier.custodian_id == user.organisation_id,
            "catalogue_source": catalogue_source or "typed",
            "catalogue_sources": catalogue.REVISION_SOURCES,
            "proposed": proposed,
            "thumbnails": thumbnails,
            "common_titles": catalogue_rows.common_titles(),
            "life_events": life_events.life_events(session, dossier.retiree_id),
            "life_event_kinds": list(LifeEventKind),
            "move": moves.dossier_move(session, dossier),
            "missing_declared": missing.declared(session, dossier),
            "missing_recorded": missing.missing_of(session, dossier.id),
            "missing_classes": catalogue_rows.scheme_classes(session, dossier.class_scheme) if editable else {},
            "can_open_certificates": can(user, Action.read_digital_copy),
            "can_set_secrecy": can(user, Action.register_dossier) and dossier.custodian_id == user.organisation_id,
            "secrecy_levels": SECRECY_LABELS,
            "can_record_life_events": can(user, Action.record_life_events)
            and dossier.custodian_id == user.organisation_id,
            "error": error,
        },
        status_code=error.status if error else 422 if catalogue_error else 200,
    )


def _proposal_thumbnails(
    request: Request, session: Session, user: User, dossier: Dossier, use_copy: Any, proposed: list[dict[str, str]]
) -> dict[int, str]:
    """The first and last page of each proposed material as small images (data: URIs in the page), so the
    archivist checks the proposal against the pages beside it. Seeing them is viewing the copy: logged."""
    if not proposed or use_copy is None or not can(user, Action.read_digital_copy):
        return {}
    wanted = {int(m[k]) for m in proposed for k in ("first_page", "last_page")}
    images = digitisation.page_thumbnails(object_store(), use_copy, sorted(wanted))
    record_access(
        session, user, AccessAction.view_copy, client_address(request), dossier_id=dossier.id,
        detail=f"{use_copy.name} v{use_copy.version} 目录建议缩略图 {len(images)} 页",
    )  # fmt: skip
    return {page: "data:image/jpeg;base64," + base64.b64encode(jpeg).decode() for page, jpeg in images.items()}
