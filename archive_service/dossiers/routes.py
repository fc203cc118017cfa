import tempfile
from datetime import date
from pathlib import Path
from typing import Any, Literal

from fastapi import APIRouter, Body, File, Form, Query, Request, UploadFile
from sqlalchemy.orm import Session

from archive_service.adapters import object_store
from archive_service.auth.models import User
from archive_service.auth.permissions import Action, require
from archive_service.deps import CurrentUser, DbSession, Store, client_address
from archive_service.dossiers import catalogue, catalogue_rows, facts, held_elsewhere, life_events, missing, service
from archive_service.dossiers import secrecy as secrecy_rule
from archive_service.dossiers.models import DossierStatus, MissingMaterial
from archive_service.dossiers.schemas import (
    CatalogueOut,
    CatalogueRevisionOut,
    DossierDetail,
    DossierIn,
    DossierPage,
    FactConfirmIn,
    FactSheetOut,
    HeldByIn,
    LifeEventIn,
    LifeEventOut,
    LifeEventRecorded,
    MissingMaterialOut,
    MissingMaterialsOut,
    TransferApplicationOut,
)
from archive_service.transfers import moves
from archive_service.transfers.models import TransferApplication
from archive_service.uploads import saved_scans
from archive_service.values import SecrecyLevel, VisibleText

router = APIRouter(prefix="/api/dossiers", tags=["dossiers"])


@router.get("", response_model=DossierPage)
def list_dossiers(
    session: DbSession,
    user: CurrentUser,
    q: str = Query("", max_length=64, description="姓名、档号、公民身份号码或其末位"),
    status: DossierStatus | None = None,
    enterprise_id: int | None = None,
    page: int = Query(1, ge=1, le=100_000),
) -> DossierPage:
    total, rows = service.list_dossiers(
        session, user, service.DossierQuery(text=q, status=status, enterprise_id=enterprise_id, page=page)
    )
    return DossierPage(total=total, page=page, page_size=service.PAGE_SIZE, items=[service.summary(d) for d in rows])


@router.get("/{dossier_id}", response_model=DossierDetail)
def get_dossier(dossier_id: int, session: DbSession, user: CurrentUser) -> DossierDetail:
    return service.detail(session, service.get_dossier(session, user, dossier_id))


@router.post("", response_model=DossierDetail, status_code=201)
def register_dossier(data: DossierIn, request: Request, session: DbSession, user: CurrentUser) -> DossierDetail:
    """Stock the bureau holds; with held_by_unit_id, stock a street or custodian keeps for it (003 七(二))."""
    if data.held_by_unit_id is not None:
        dossier = held_elsewhere.register_held(session, user, data, data.held_by_unit_id, client_address(request))
    else:
        dossier = service.register_existing(session, user, data)
    return service.detail(session, dossier)


@router.post("/{dossier_id}/held-by", response_model=DossierDetail)
def hand_to_unit(
    dossier_id: int, data: HeldByIn, request: Request, session: DbSession, user: CurrentUser
) -> DossierDetail:
    """A file in the bureau's store given to a street or an entrusted custodian to keep (004 第十六条)."""
    dossier = held_elsewhere.hand_to_unit(session, user, dossier_id, data.unit_id, client_address(request))
    return service.detail(session, dossier)


@router.post("/{dossier_id}/take-in", response_model=DossierDetail)
def take_in(dossier_id: int, request: Request, session: DbSession, user: CurrentUser) -> DossierDetail:
    """A file a street or custodian kept brought into the bureau's store (收回入馆)."""
    return service.detail(session, held_elsewhere.take_in(session, user, dossier_id, client_address(request)))


@router.put("/{dossier_id}/secrecy", response_model=DossierDetail)
def set_secrecy(
    dossier_id: int,
    request: Request,
    session: DbSession,
    user: CurrentUser,
    secrecy: SecrecyLevel = Body(..., embed=True, description="密级：none、unrated、secret、confidential、top_secret"),
) -> DossierDetail:
    """The archivist records the file's 密级 (before → after on the access log)."""
    changed = secrecy_rule.set_secrecy(session, user, dossier_id, secrecy, client_address(request))
    return service.detail(session, changed)


@router.get("/{dossier_id}/catalogue", response_model=CatalogueOut)
def get_catalogue(dossier_id: int, session: DbSession, user: CurrentUser) -> CatalogueOut:
    """The 卷内目录, whether this user may edit it, its revisions, and the usual titles per class."""
    dossier = service.get_dossier(session, user, dossier_id)
    return catalogue_out(session, user, dossier)


@router.put("/{dossier_id}/catalogue", response_model=CatalogueOut)
def put_catalogue(
    dossier_id: int,
    session: DbSession,
    store: Store,
    user: CurrentUser,
    materials: list[dict[str, Any]] = Body(..., embed=True, max_length=catalogue_rows.MAX_ENTRIES + 1),
    source: Literal["typed", "proposal"] = Body("typed", embed=True, description="proposal: accepted from the pages"),
) -> CatalogueOut:
    """Save the whole list (all or nothing; 422 names every problem by row and field). An entry that
    keeps its `id` keeps its item number; a digitised file's pages are linked again without OCR."""
    dossier = service.get_dossier(session, user, dossier_id)
    catalogue.save_catalogue(session, store, user, dossier, materials, source=source)
    return catalogue_out(session, user, dossier)


@router.get("/{dossier_id}/facts", response_model=FactSheetOut)
def get_facts(dossier_id: int, session: DbSession, user: CurrentUser) -> FactSheetOut:
    """The fact sheet (三龄两历一身份): each fact's values with their pages, the value first recorded in the
    file, the archivist's confirmation, and where the file disagrees with itself or with the register."""
    dossier = service.get_dossier(session, user, dossier_id)
    return facts.sheet_out(dossier, facts.fact_sheet(session, dossier))


@router.post("/{dossier_id}/facts/{kind}", response_model=FactSheetOut)
def confirm_fact(
    dossier_id: int,
    kind: str,
    data: FactConfirmIn,
    session: DbSession,
    user: CurrentUser,
) -> FactSheetOut:
    """Confirm the value of one fact (recorded with who and when; a later confirmation supersedes it)."""
    require(user, Action.confirm_facts)
    dossier = service.get_dossier(session, user, dossier_id)
    facts.confirm(session, user, dossier, kind, data.value, data.page, data.note)
    session.commit()
    return facts.sheet_out(dossier, facts.fact_sheet(session, dossier))


def _life_event_out(e: Any) -> LifeEventOut:
    return LifeEventOut(
        id=e.id,
        kind=e.kind.value,
        label=e.kind.label,
        occurred_on=e.occurred_on,
        source_document=e.source_document,
        region_code=e.region_code,
        entered_by=e.entered_by.display_name,
        entered_at=e.entered_at,
    )


@router.get("/{dossier_id}/life-events", response_model=list[LifeEventOut])
def list_life_events(dossier_id: int, session: DbSession, user: CurrentUser) -> list[LifeEventOut]:
    """The retiree's recorded deaths, convictions, disappearances, emigrations and moves, oldest first."""
    dossier = service.get_dossier(session, user, dossier_id)
    return [_life_event_out(e) for e in life_events.life_events(session, dossier.retiree_id)]


@router.post("/{dossier_id}/life-events", response_model=LifeEventRecorded, status_code=201)
def record_life_event(dossier_id: int, data: LifeEventIn, session: DbSession, user: CurrentUser) -> LifeEventRecorded:
    """Record a change in the retiree's state (000 二(五), 002 第三十四条). Death closes online use except
    for 丧葬、抚恤; a move says where the file now belongs — out of the bureau's area, it waits for the
    retiree's 转入申请 (002 第二十二条), nothing is sent by the move itself."""
    done = life_events.record_life_event(
        session, user, dossier_id, data.kind, data.occurred_on, data.source_document, data.region_code
    )
    session.flush()
    move = done.move
    return LifeEventRecorded(
        event=_life_event_out(done.event),
        awaits_application=move.elsewhere is not None if move else None,
        belongs_to=move.belongs_to if move else None,
        next_step=move.next_step if move else None,
    )


@router.post("/{dossier_id}/transfer-application", response_model=TransferApplicationOut, status_code=201)
def record_transfer_application(
    dossier_id: int,
    session: DbSession,
    store: Store,
    user: CurrentUser,
    applied_on: date | None = Form(None),
    to_org_id: int | None = Form(None),
    document: VisibleText = Form(""),
    application_scan: UploadFile | None = File(None),
) -> TransferApplicationOut:
    """The retiree's 转入申请 after a move (002 第二十二条): recorded (the scan optional) and the 转递 to the
    bureau applied to started from it. A move never starts one by itself."""
    dossier = service.get_dossier(session, user, dossier_id)
    with tempfile.TemporaryDirectory() as folder:
        path = (
            saved_scans([application_scan], Path(folder))[0]
            if application_scan is not None and application_scan.filename
            else None
        )
        done = moves.record_application(session, store, user, dossier, applied_on, to_org_id, document, path)
    return application_out(done)


def application_out(a: TransferApplication) -> TransferApplicationOut:
    return TransferApplicationOut(
        id=a.id, dossier_id=a.dossier_id, life_event_id=a.life_event_id, applied_on=a.applied_on,
        to_org=a.to_org.name, document=a.document, has_scan=a.scan_id is not None,
        onward_batch_id=a.onward_batch_id, onward_batch_number=a.onward_batch.number,
    )  # fmt: skip


def catalogue_out(session: Session, user: User, dossier) -> CatalogueOut:
    return CatalogueOut(
        dossier_id=dossier.id,
        archival_code=dossier.archival_code,
        class_scheme=dossier.class_scheme,
        editable=catalogue.may_edit(session, user, dossier),
        materials=service.detail(session, dossier).materials,
        revisions=[
            CatalogueRevisionOut(
                at=r.at,
                actor_id=r.actor_id,
                source=r.source,
                entries_before=len(r.before),
                entries_after=len(r.after),
                note=r.note,
            )
            for r in catalogue.revisions(session, dossier)
        ],
        common_titles={str(k): v for k, v in catalogue_rows.common_titles().items()},
        proposed=catalogue.proposal(session, object_store(), dossier),
    )


def missing_out(m: MissingMaterial) -> MissingMaterialOut:
    return MissingMaterialOut(
        id=m.id,
        class_code=m.material_class.code,
        class_name=m.material_class.name,
        description=m.description,
        issued_by=m.issued_by,
        certificate_name=m.certificate.name,
        certificate_sha256=m.certificate.sha256,
        certificate_pages=m.certificate.pages or 1,
        recorded_by=m.recorded_by.display_name,
        recorded_at=m.recorded_at,
    )


@router.get("/{dossier_id}/missing-materials", response_model=MissingMaterialsOut)
def list_missing_materials(dossier_id: int, session: DbSession, user: CurrentUser) -> MissingMaterialsOut:
    """What the file lacks: as the register declared it, and as recorded here with each certificate."""
    dossier = service.get_dossier(session, user, dossier_id)
    return MissingMaterialsOut(
        declared=missing.declared(session, dossier),
        recorded=[missing_out(m) for m in missing.missing_of(session, dossier.id)],
    )


@router.post("/{dossier_id}/missing-materials", response_model=MissingMaterialOut, status_code=201)
def record_missing_material(
    dossier_id: int,
    session: DbSession,
    store: Store,
    user: CurrentUser,
    class_code: VisibleText = Form(""),
    description: VisibleText = Form(""),
    issued_by: VisibleText = Form(""),
    certificate: UploadFile = File(...),
) -> MissingMaterialOut:
    """Record a missing material with the scan of its certificate (001 第九条(一)), stored with the file."""
    dossier = service.get_dossier(session, user, dossier_id)
    with tempfile.TemporaryDirectory() as folder:
        (path,) = saved_scans([certificate], Path(folder))
        entry = missing.record_missing(session, store, user, dossier, class_code, description, issued_by, path)
    return missing_out(entry)
