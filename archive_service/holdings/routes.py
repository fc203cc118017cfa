"""HTTP API of the holdings import (存量档案导入): upload a ledger, set each sheet's columns, decide, check
(a job), save (a job; its progress at /api/jobs/{id}), the problems, the rejected rows as a workbook, and the
completion of a citizen ID a ledger lacked."""

from decimal import Decimal
from typing import Any

from fastapi import APIRouter, File, Request, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, Field

from archive_service.adapters import object_store
from archive_service.deps import CurrentUser, DbSession, client_address
from archive_service.dossiers.service import get_dossier
from archive_service.holdings import service
from archive_service.holdings.decisions import Decisions, NewEnterprise
from archive_service.holdings.models import HoldingsImport
from archive_service.transfers import catalogues
from archive_service.uploads import uploaded_bytes

router = APIRouter(prefix="/api", tags=["holdings"])


def _shown(imported: HoldingsImport) -> dict[str, Any]:
    return {
        "id": imported.id,
        "filename": imported.filename,
        "sha256": imported.sha256,
        "state": imported.state.value,
        "sheets": imported.sheets,
        "decisions": imported.decisions,
        "summary": imported.summary,
        "job_id": imported.job_id,
    }


@router.post("/holdings", status_code=201)
def upload(
    session: DbSession,
    user: CurrentUser,
    file: UploadFile = File(...),
) -> dict:
    """A ledger (.xlsx, .xls, .csv in UTF-8 or GBK): each sheet's header row and proposed columns."""
    data = uploaded_bytes(file, "台账", service.MAX_LEDGER_BYTES)
    return _shown(service.start_import(session, user, data, file.filename or "台账"))


@router.get("/holdings/{import_id}")
def get_import(import_id: int, session: DbSession, user: CurrentUser) -> dict:
    return _shown(service.get_import(session, user, import_id))


class SheetMapping(BaseModel):
    mapping: dict[str, int] = Field(description="字段 → 列号（从 0 起），字段见 holdings/ledger.py FIELDS")
    room: str = Field("", max_length=100)
    skip: bool = False
    remember: bool = True


@router.put("/holdings/{import_id}/sheets/{sheet_index}")
def set_mapping(
    import_id: int, sheet_index: int, data: SheetMapping, session: DbSession,
    user: CurrentUser,
) -> dict:  # fmt: skip
    imported = service.set_mapping(
        session, user, import_id, sheet_index, data.mapping, room=data.room, skip=data.skip, remember=data.remember
    )
    return _shown(imported)


class NewEnterpriseIn(BaseModel):
    credit_code: str = Field(max_length=18)
    region_code: str = Field(max_length=6)
    level: str = Field("district", pattern="^(central|provincial|city|district)$")


class DecisionsIn(BaseModel):
    renumber: bool = False
    enterprises: dict[str, int] = {}
    new_enterprises: dict[str, NewEnterpriseIn] = {}
    create_shelving: bool = False
    layer_capacity: int | None = None
    room_areas: dict[str, Decimal] = {}


@router.put("/holdings/{import_id}/decisions")
def decide(import_id: int, data: DecisionsIn, session: DbSession, user: CurrentUser) -> dict:
    decisions = Decisions(
        renumber=data.renumber,
        enterprises=data.enterprises,
        new_enterprises={k: NewEnterprise(**v.model_dump()) for k, v in data.new_enterprises.items()},
        create_shelving=data.create_shelving,
        layer_capacity=data.layer_capacity,
        room_areas=data.room_areas,
    )
    return _shown(service.decide(session, user, import_id, decisions))


@router.post("/holdings/{import_id}/check", status_code=202)
def check(import_id: int, session: DbSession, user: CurrentUser) -> dict:
    """The dry run, as a job: every problem by sheet, row and column; nothing saved."""
    return _shown(service.request_check(session, user, import_id))


class SaveIn(BaseModel):
    good_rows_only: bool = False


@router.post("/holdings/{import_id}/save", status_code=202)
def save(import_id: int, data: SaveIn, session: DbSession, user: CurrentUser) -> dict:
    """Checked again and saved, as a job: every row or none, or the good rows only."""
    return _shown(service.request_save(session, user, import_id, data.good_rows_only))


@router.get("/holdings/{import_id}/problems")
def problems(import_id: int, session: DbSession, user: CurrentUser) -> list[dict]:
    imported = service.get_import(session, user, import_id)
    return [
        {"sheet": p.sheet, "row": p.row, "column": p.column, "code": p.code, "message": p.message,
         "blocking": p.blocking}
        for p in service.problems_of(session, imported, limit=None)
    ]  # fmt: skip


@router.get("/holdings/{import_id}/rejected.xlsx")
def rejected(import_id: int, session: DbSession, user: CurrentUser) -> Response:
    data = service.rejected_workbook(session, user, import_id)
    return Response(data, media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


@router.post("/holdings/catalogue")
def import_catalogue(
    session: DbSession,
    user: CurrentUser,
    file: UploadFile = File(...),
) -> dict:
    """The 卷内目录 workbook (the batch template) for files already held without a catalogue."""
    return catalogues.import_for_held_files(session, object_store(), user, uploaded_bytes(file), file.filename or "")


class CitizenIdIn(BaseModel):
    citizen_id: str = Field(max_length=18)


@router.put("/dossiers/{dossier_id}/citizen-id")
def complete_citizen_id(
    dossier_id: int, data: CitizenIdIn, request: Request, session: DbSession,
    user: CurrentUser,
) -> dict:  # fmt: skip
    """补录: the ID of a file whose ledger had none (or one that could not be read)."""
    dossier = get_dossier(session, user, dossier_id)
    retiree = service.complete_citizen_id(session, user, dossier, data.citizen_id, client_address(request))
    return {"dossier_id": dossier.id, "citizen_id": retiree.citizen_id, "birth_date": retiree.birth_date.isoformat()}
