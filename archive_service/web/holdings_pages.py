"""Pages of the holdings import (存量档案导入): upload a ledger, correct each sheet's columns, decide, run the
dry run and save, with the job's progress bar on the page; the rejected rows as a workbook; the files whose
citizen ID waits to be completed. They call the holdings service like the API and the CLI do."""

from decimal import Decimal
from urllib.parse import quote

from fastapi import APIRouter, File, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from archive_service import workbooks
from archive_service.adapters import object_store
from archive_service.auth.models import User
from archive_service.auth.permissions import Action, can
from archive_service.deps import CurrentUser, DbSession, client_address
from archive_service.dossiers.service import get_dossier
from archive_service.errors import ArchiveError
from archive_service.holdings import ledger, service
from archive_service.holdings.decisions import Decisions, NewEnterprise
from archive_service.holdings.models import HoldingsImport, ImportState
from archive_service.jobs.models import Job, JobState
from archive_service.organisations.models import Organisation, OrganisationKind
from archive_service.transfers import catalogues
from archive_service.uploads import uploaded_bytes
from archive_service.web.dossier_pages import dossier_page_refused
from archive_service.web.forms import refusal_shows, submitted_text
from archive_service.web.rendering import form_number, templates

router = APIRouter(include_in_schema=False)
LEVELS = {"central": "央属", "provincial": "省属", "city": "市属", "district": "区属"}


def _list_page(request: Request, session: Session, user: User, error: ArchiveError | None = None) -> HTMLResponse:
    return templates.TemplateResponse(
        request,
        "holdings.html",
        {"user": user, "imports": service.list_imports(session, user), "error": error,
         "awaiting": service.awaiting_ids(session, user, limit=200), "done": request.query_params.get("done", "")},
        status_code=error.status if error else 200,
    )  # fmt: skip


@router.get("/holdings", response_class=HTMLResponse)
def holdings_page(request: Request, session: DbSession, user: CurrentUser) -> Response:
    return _list_page(request, session, user)


@router.post("/holdings")
def upload(
    request: Request,
    session: DbSession,
    user: CurrentUser,
    file: UploadFile = File(...),
) -> Response:
    with refusal_shows(session, lambda error: _list_page(request, session, user, error)):
        data = uploaded_bytes(file, "台账", service.MAX_LEDGER_BYTES)
        imported = service.start_import(session, user, data, file.filename or "台账")
    return RedirectResponse(f"/holdings/{imported.id}", status_code=303)


@router.post("/holdings/catalogue")
def import_catalogue(
    request: Request,
    session: DbSession,
    user: CurrentUser,
    file: UploadFile = File(...),
) -> Response:
    """The 卷内目录 of files already held, with the workbook and rules of a batch's (transfers/catalogues.py)."""
    with refusal_shows(session, lambda error: _list_page(request, session, user, error)):
        done = catalogues.import_for_held_files(
            session, object_store(), user, uploaded_bytes(file), file.filename or ""
        )
    return RedirectResponse(
        f"/holdings?done=已导入 {done['files']} 份档案的卷内目录（{done['materials']} 条）#catalogue", status_code=303
    )


def _import_page(
    request: Request, session: Session, user: User, import_id: int, error: ArchiveError | None = None
) -> HTMLResponse:
    imported = service.get_import(session, user, import_id)
    job = session.get(Job, imported.job_id) if imported.job_id else None
    if (
        job is not None
        and job.state is JobState.failed
        and imported.state in (ImportState.checking, ImportState.saving)
    ):
        # The job gave up (its reason is on the page): the ledger can be mended and checked again.
        imported.state = ImportState.uploaded
        session.commit()
    enterprises = session.scalars(
        select(Organisation).where(Organisation.kind == OrganisationKind.enterprise).order_by(Organisation.name)
    ).all()
    summary = imported.summary or {}
    return templates.TemplateResponse(
        request,
        "holdings_import.html",
        {
            "user": user,
            "imported": imported,
            "job": job,
            # Saved, the files then go into the search index; the page says 已导入 once they are found.
            "indexing": imported.state is ImportState.saved and "indexed" not in summary,
            "busy": imported.state in (ImportState.checking, ImportState.saving)
            or (imported.state is ImportState.saved and "indexed" not in summary),
            "fields": ledger.FIELDS,
            "summary": summary,
            "decisions": Decisions.of(imported),
            "unknown": list((summary.get("unknown_enterprises") or {}).items()),
            "enterprises": enterprises,
            "levels": LEVELS,
            "problems": service.problems_of(session, imported) if summary else [],
            "can_shelve": can(user, Action.manage_shelving),
            "letters": [workbooks.column_letters(i) for i in range(1, 257)],  # the sheet bounds' 256 columns
            "error": error,
            "done": request.query_params.get("done", ""),
        },
        status_code=error.status if error else 200,
    )


@router.get("/holdings/{import_id}", response_class=HTMLResponse)
def import_page(import_id: int, request: Request, session: DbSession, user: CurrentUser) -> Response:
    return _import_page(request, session, user, import_id)


def _refused(request: Request, session: Session, user: User, import_id: int):
    return lambda error: _import_page(request, session, user, import_id, error)


@router.post("/holdings/{import_id}/sheets/{sheet_index}")
def set_mapping(
    import_id: int,
    sheet_index: int,
    request: Request,
    session: DbSession,
    user: CurrentUser,
) -> Response:
    """One sheet's columns: a select per field (`map_<field>` = column index, empty for none)."""
    typed = submitted_text(request)
    with refusal_shows(session, _refused(request, session, user, import_id)):
        mapping = {}
        for key in ledger.FIELDS:
            value = typed.get(f"map_{key}", "")
            if value:
                mapping[key] = form_number(value, f"map_{key}", int)
        service.set_mapping(
            session, user, import_id, sheet_index, mapping, room=typed.get("room", ""),
            skip=typed.get("skip") == "1", remember=typed.get("remember", "1") == "1",
        )  # fmt: skip
    return RedirectResponse(f"/holdings/{import_id}?done=已保存列对应#sheet-{sheet_index}", status_code=303)


@router.post("/holdings/{import_id}/decisions")
def decide(import_id: int, request: Request, session: DbSession, user: CurrentUser) -> Response:
    """Renumbering, each unknown enterprise (`ent_<n>_name` mapped by `ent_<n>_map`, or created with
    `ent_<n>_code`, `_region`, `_level`), setting up shelving, the new rooms' areas (`room_<n>_name/_area`)."""
    typed = submitted_text(request)
    with refusal_shows(session, _refused(request, session, user, import_id)):
        decisions = Decisions(
            renumber=typed.get("renumber") == "1",
            create_shelving=typed.get("create_shelving") == "1",
            layer_capacity=form_number(typed.get("layer_capacity", ""), "layer_capacity", int),
        )
        n = 0
        while f"ent_{n}_name" in typed:
            name, chosen = typed[f"ent_{n}_name"], typed.get(f"ent_{n}_map", "")
            if chosen == "new":
                decisions.new_enterprises[name] = NewEnterprise(
                    typed.get(f"ent_{n}_code", "").strip().upper(), typed.get(f"ent_{n}_region", "").strip(),
                    typed.get(f"ent_{n}_level", "district"),
                )  # fmt: skip
            elif chosen:
                decisions.enterprises[name] = form_number(chosen, f"ent_{n}_map", int)
            n += 1
        n = 0
        while f"room_{n}_name" in typed:
            area = form_number(typed.get(f"room_{n}_area", ""), "room_areas")
            if area is not None:
                decisions.room_areas[typed[f"room_{n}_name"]] = Decimal(area)
            n += 1
        service.decide(session, user, import_id, decisions)
    return RedirectResponse(f"/holdings/{import_id}?done=已保存导入选项，请重新检查#decisions", status_code=303)


@router.post("/holdings/{import_id}/check")
def check(import_id: int, request: Request, session: DbSession, user: CurrentUser) -> Response:
    with refusal_shows(session, _refused(request, session, user, import_id)):
        service.request_check(session, user, import_id)
    return RedirectResponse(f"/holdings/{import_id}", status_code=303)


@router.post("/holdings/{import_id}/save")
def save(import_id: int, request: Request, session: DbSession, user: CurrentUser) -> Response:
    typed = submitted_text(request)
    with refusal_shows(session, _refused(request, session, user, import_id)):
        service.request_save(session, user, import_id, good_rows_only=typed.get("good_rows_only") == "1")
    return RedirectResponse(f"/holdings/{import_id}", status_code=303)


@router.get("/holdings/{import_id}/rejected.xlsx")
def rejected(
    import_id: int, session: DbSession, user: CurrentUser
) -> Response:  # fmt: skip
    imported: HoldingsImport = service.get_import(session, user, import_id)
    data = service.rejected_workbook(session, user, import_id)
    name = f"未导入的行-{imported.filename.rsplit('.', 1)[0]}.xlsx"
    return Response(
        data,
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}"},
    )


@router.post("/dossiers/{dossier_id}/citizen-id")
def complete_citizen_id(dossier_id: int, request: Request, session: DbSession, user: CurrentUser) -> Response:
    """补录: the ID of a file its ledger held without one."""
    typed = submitted_text(request)
    with refusal_shows(session, lambda error: dossier_page_refused(request, session, user, dossier_id, error)):
        dossier = get_dossier(session, user, dossier_id)
        service.complete_citizen_id(session, user, dossier, typed.get("citizen_id", ""), client_address(request))
    return RedirectResponse(f"/dossiers/{dossier_id}", status_code=303)
