"""HTTP API for transfer batches (register upload, receiving, acceptance, confirmation, receipt, 转递,
statistics) and for supplementary materials (材料补充)."""

import tempfile
from dataclasses import asdict
from datetime import date
from pathlib import Path

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import Response
from sqlalchemy.orm import Session

from archive_service.deps import XLSX, CurrentUser, DbSession, Store, client_address
from archive_service.transfers import (
    campaign,
    catalogues,
    certificates,
    continuing,
    intake,
    moves,
    onward,
    receiving,
    register,
    service,
    statistics,
    supplements,
)
from archive_service.transfers.models import ItemResult, TransferBatch
from archive_service.transfers.schemas import (
    BatchDetail,
    BatchOut,
    CampaignIn,
    CampaignOut,
    CampaignProgressOut,
    CancelIn,
    CheckIn,
    ConfirmIn,
    ContinuingIn,
    ContinuingOut,
    EnterpriseProgressOut,
    InspectionIn,
    ItemOut,
    LateOut,
    MoveAwaitingOut,
    OnwardIn,
    ProgressOut,
    QuotaIn,
    ReviewIn,
    SupplementOut,
    WaiverIn,
    WaiverOut,
)
from archive_service.uploads import saved_scans, uploaded_bytes
from archive_service.values import VisibleText

router = APIRouter(prefix="/api/transfers", tags=["transfers"])


def batch_out(session: Session, batch: TransferBatch, with_items: bool = False) -> BatchOut:
    p = service.progress(session, batch)
    out = BatchOut(
        id=batch.id,
        number=batch.number,
        kind=batch.kind,
        status=batch.status,
        from_org=batch.from_org.name,
        to_org=batch.to_org.name,
        created_at=batch.created_at,
        received_at=batch.received_at,
        sender_confirmed_by=batch.sender_confirmed_by,
        sender_confirmed_at=batch.sender_confirmed_at,
        receiver_confirmed_at=batch.receiver_confirmed_at,
        manifest_sha256=batch.manifest_sha256,
        acceptance=batch.acceptance,
        return_slip_signer=batch.return_slip_signer,
        return_slip_signed_on=batch.return_slip_signed_on,
        cancel_reason=batch.cancel_reason,
        paper_reason=batch.paper_reason,
        managing_unit=batch.managing_unit,
        managing_reason=batch.managing_reason,
        approval_reference=batch.approval_reference,
        progress=ProgressOut(**asdict(p), pending=p.pending),
    )
    if not with_items:
        return out
    session.refresh(batch, ["items"])
    return BatchDetail(**out.model_dump(), items=[ItemOut.model_validate(i) for i in batch.items])


@router.get("/template.xlsx")
def template(user: CurrentUser) -> Response:
    """The register template (档案移交名册) with the Chinese headers and a filled-in example row."""
    return Response(
        register.template_xlsx(),
        media_type=XLSX,
        headers={"Content-Disposition": 'attachment; filename="register-template.xlsx"'},
    )


@router.get("/catalogue-template.xlsx")
def catalogue_template(user: CurrentUser) -> Response:
    """The 卷内目录 workbook template: one row per material, keyed by 档号 or 公民身份号码."""
    return Response(
        catalogues.template_xlsx(),
        media_type=XLSX,
        headers={"Content-Disposition": 'attachment; filename="catalogue-template.xlsx"'},
    )


@router.post("/{batch_id}/catalogue")
def import_catalogue(
    batch_id: int,
    session: DbSession,
    store: Store,
    user: CurrentUser,
    file: UploadFile = File(...),
) -> dict[str, int]:
    """The batch's 卷内目录 workbook (.xlsx/.csv, UTF-8 or GBK): received files are catalogued at once, the
    others when they are received. 422 with every problem by row and column; nothing is saved then.
    A plain `def`: the work runs in the threadpool, not on the event loop."""
    data = uploaded_bytes(file, "卷内目录文件")
    return catalogues.import_workbook(session, store, user, batch_id, data, file.filename or "")


# ---- the handover campaign (transfers/campaign.py) --------------------------------------------


def progress_out(figures: campaign.CampaignProgress) -> CampaignProgressOut:
    c = figures.campaign
    return CampaignProgressOut(
        campaign=CampaignOut(
            opens_on=c.opens_on,
            closes_on=c.closes_on,
            final_on=c.final_on,
            basis=c.basis,
            by_level={w.level.value: w.closes_on for w in c.level_windows},
        )  # fmt: skip
        if c
        else None,
        today=figures.today,
        enterprises=[
            EnterpriseProgressOut(
                enterprise=r.enterprise,
                credit_code=r.credit_code,
                level=r.level.label,
                closes_on=figures.closes_on(r),
                expected=r.expected,
                handed_over=r.handed_over,
                outstanding=r.outstanding,
                state=figures.state(r),
                late=figures.late(r),
            )  # fmt: skip
            for r in figures.rows
        ],
    )


@router.get("/campaign", response_model=CampaignProgressOut)
def campaign_progress(session: DbSession, user: CurrentUser) -> CampaignProgressOut:
    """Per enterprise: 核准移交人数, handed over, outstanding, and who is late by the bureau's window."""
    return progress_out(campaign.progress(session, user))


@router.put("/campaign/continuing", response_model=ContinuingOut)
def set_continuing(data: ContinuingIn, request: Request, session: DbSession, user: CurrentUser) -> ContinuingOut:
    """常态化移交: from which retirement date each new retiree's file is due, and how many months after."""
    done = continuing.set_continuing(
        session, user, data.starts_on, data.due_months, data.basis, client_address(request)
    )
    return ContinuingOut(starts_on=done.starts_on, due_months=done.due_months, basis=done.basis)


@router.get("/campaign/late", response_model=list[LateOut])
def late_files(session: DbSession, user: CurrentUser) -> list[LateOut]:
    """New retirees' files that came after they were due (常态化移交), naming the enterprise and the person."""
    return [LateOut(**asdict(x), days_late=x.days_late) for x in continuing.late(session, user)]


@router.put("/campaign", response_model=CampaignProgressOut)
def set_campaign(data: CampaignIn, request: Request, session: DbSession, user: CurrentUser) -> CampaignProgressOut:
    """The administrator sets the bureau's handover window (logged as a policy change)."""
    client = client_address(request)
    if data.preset:
        campaign.set_preset(session, user, data.preset, client)
    else:
        campaign.set_campaign(
            session, user, data.opens_on, data.closes_on, data.final_on, data.basis, client, data.by_level
        )
    return progress_out(campaign.progress(session, user))


@router.put("/campaign/quotas/{enterprise_id}", response_model=CampaignProgressOut)
def set_quota(enterprise_id: int, data: QuotaIn, session: DbSession, user: CurrentUser) -> CampaignProgressOut:
    """An enterprise's 核准移交人数, typed from the approval."""
    campaign.set_quota(session, user, enterprise_id, data.expected, data.basis)
    return progress_out(campaign.progress(session, user))


@router.post("/campaign/quotas", response_model=CampaignProgressOut)
def import_quotas(
    session: DbSession,
    user: CurrentUser,
    file: UploadFile = File(...),
) -> CampaignProgressOut:
    """The social-insurance agency's list (统一社会信用代码, 单位名称, 核准移交人数, 依据): all rows or none."""
    campaign.import_quotas(session, user, uploaded_bytes(file, "核准移交人数表"), file.filename or "")
    return progress_out(campaign.progress(session, user))


@router.get("/campaign/progress.xlsx")
def campaign_xlsx(session: DbSession, user: CurrentUser) -> Response:
    figures = campaign.progress(session, user)
    return Response(
        campaign.progress_xlsx(figures),
        media_type=XLSX,
        headers={"Content-Disposition": f'attachment; filename="handover-progress-{figures.today}.xlsx"'},
    )


@router.get("/campaign/monthly-export.xlsx")
def monthly_export(
    month: str,
    request: Request,
    session: DbSession,
    user: CurrentUser,
    enterprise_id: int | None = None,
) -> Response:
    """Newly received retirees of the month, and deaths and other changes recorded in it, for the
    social-insurance agency (001 第十六条(四)) or, with `enterprise_id`, for that enterprise; logged."""
    data = campaign.monthly_export(session, user, month, client_address(request), enterprise_id)
    return Response(
        data, media_type=XLSX, headers={"Content-Disposition": f'attachment; filename="monthly-{month[:7]}.xlsx"'}
    )


@router.get("", response_model=list[BatchOut])
def list_batches(session: DbSession, user: CurrentUser) -> list[BatchOut]:
    return [batch_out(session, b) for b in service.list_batches(session, user)]


@router.get("/statistics", response_model=list[statistics.MonthFigures])
def month_figures(
    session: DbSession,
    user: CurrentUser,
    year: int | None = None,
) -> list[statistics.MonthFigures]:
    """Per enterprise and month: files expected (register rows), received, rejected, digitised."""
    return statistics.statistics(session, user, year)


@router.get("/statistics.xlsx")
def statistics_xlsx(
    session: DbSession,
    user: CurrentUser,
    year: int | None = None,
) -> Response:
    rows = statistics.statistics(session, user, year)
    return Response(
        statistics.statistics_xlsx(rows),
        media_type=XLSX,
        headers={"Content-Disposition": f'attachment; filename="transfer-statistics-{year or "all"}.xlsx"'},
    )


@router.post("", response_model=BatchDetail, status_code=201)
def create_batch(
    session: DbSession,
    user: CurrentUser,
    enterprise_id: int = Form(...),
    file: UploadFile = File(...),
    managing_unit: VisibleText = Form(""),
    managing_reason: VisibleText = Form(""),
    approval_reference: VisibleText = Form(""),
) -> BatchOut:
    """Create a batch from the enterprise's register (.xlsx or .csv). 422 with every problem when any row
    breaks a rule; nothing is saved then. A defunct enterprise's files come through its present managing
    unit (with the reason); the human-resources bureau's approval reference may be given."""
    handover = intake.Handover(managing_unit, managing_reason, approval_reference)
    data = uploaded_bytes(file, "名册文件")
    batch = intake.import_register(session, user, enterprise_id, data, file.filename or "", handover)
    return batch_out(session, batch, with_items=True)


@router.get("/moves", response_model=list[MoveAwaitingOut])
def moves_awaiting(session: DbSession, user: CurrentUser) -> list[MoveAwaitingOut]:
    """Moves out of the bureau's area whose retiree has not yet applied to the new place (002 第二十二条)."""
    return [
        MoveAwaitingOut(
            dossier_id=m.dossier.id,
            archival_code=m.dossier.archival_code,
            name=m.dossier.retiree.name,
            enterprise=m.dossier.retiree.enterprise.name,
            move=m.event.kind.label,
            occurred_on=m.event.occurred_on,
            region_code=m.event.region_code,
            belongs_to=m.outcome.belongs_to,
            next_step=m.outcome.next_step,
        )  # fmt: skip
        for m in moves.awaiting(session, user)
    ]


@router.post("/onward", response_model=BatchDetail, status_code=201)
def send_onward(data: OnwardIn, session: DbSession, user: CurrentUser) -> BatchOut:
    """转递 to another bureau. 422 with every code that cannot go (not held, not in custody); nothing sent then."""
    batch = onward.send_onward(session, user, data.to_org_id, data.archival_codes, data.note)
    return batch_out(session, batch, with_items=True)


@router.get("/{batch_id}", response_model=BatchDetail)
def get_batch(batch_id: int, session: DbSession, user: CurrentUser) -> BatchOut:
    return batch_out(session, service.get_batch(session, user, batch_id), with_items=True)


@router.post("/{batch_id}/receive", response_model=ItemOut)
def receive(batch_id: int, data: CheckIn, session: DbSession, user: CurrentUser) -> ItemOut:
    check = receiving.Check(
        key=data.key,
        result=ItemResult(data.result),
        reason=data.reason,
        volumes=data.volumes,
        pages=data.pages,
        materials=data.materials,
    )
    return ItemOut.model_validate(receiving.receive(session, user, batch_id, check))


@router.post("/{batch_id}/acceptance", response_model=BatchOut)
def start_acceptance(batch_id: int, session: DbSession, store: Store, user: CurrentUser) -> BatchOut:
    """Machine-check every dossier's digitised copy; if all pass, draw the ≥ 5 % sample to inspect."""
    service.start_acceptance(session, store, user, batch_id)
    return batch_out(session, service.get_batch(session, user, batch_id))


@router.post("/{batch_id}/acceptance/inspections", response_model=BatchOut)
def inspect(batch_id: int, data: InspectionIn, session: DbSession, user: CurrentUser) -> BatchOut:
    service.inspect_sample(session, user, batch_id, data.dossier_id, data.marks, data.note)
    return batch_out(session, service.get_batch(session, user, batch_id))


@router.post("/{batch_id}/acceptance/conclusion", response_model=BatchOut)
def conclude(batch_id: int, session: DbSession, user: CurrentUser) -> BatchOut:
    service.conclude_acceptance(session, user, batch_id)
    return batch_out(session, service.get_batch(session, user, batch_id))


@router.post("/{batch_id}/items/{item_id}/certificate-waiver", response_model=WaiverOut, status_code=201)
def waive_certificate(batch_id: int, item_id: int, data: WaiverIn, session: DbSession, user: CurrentUser) -> WaiverOut:
    """The approver accepts a file marked 缺失 without its certificate, saying why (001 第九条(一))."""
    w = certificates.waive(session, user, batch_id, item_id, data.reason)
    return WaiverOut(item_id=w.item_id, name=w.item.retiree_name, reason=w.reason,
                     approved_by=w.approved_by.display_name, approved_at=w.approved_at)  # fmt: skip


@router.post("/{batch_id}/confirm", response_model=BatchOut)
def confirm(batch_id: int, data: ConfirmIn, session: DbSession, user: CurrentUser) -> BatchOut:
    return batch_out(session, service.confirm(session, user, batch_id, data.side, data.sender_name, data.paper_reason))


@router.get("/{batch_id}/receipt.pdf")
def receipt(batch_id: int, session: DbSession, user: CurrentUser) -> Response:
    batch = service.get_batch(session, user, batch_id)
    return Response(
        service.receipt(session, user, batch_id),
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{batch.number}-receipt.pdf"'},
    )


@router.get("/{batch_id}/onward-slip.pdf")
def onward_slip(batch_id: int, session: DbSession, user: CurrentUser) -> Response:
    """The 转递单 of an unsent 转递 batch: the list and its manifest hash, with room for the receiver's signature."""
    data = onward.onward_slip(session, user, batch_id)
    batch = service.get_batch(session, user, batch_id)
    return Response(
        data,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{batch.number}-onward-slip.pdf"'},
    )


@router.post("/{batch_id}/return-slip", response_model=BatchOut)
def record_return_slip(
    batch_id: int,
    session: DbSession,
    store: Store,
    user: CurrentUser,
    signer: VisibleText = Form(""),
    signed_on: date | None = Form(None),
    scan: UploadFile = File(...),
) -> BatchOut:
    """The receiving bureau (not using this installation) signed the 转递单: its scan, signer and date close
    the batch; every file is recorded as transferred out to that bureau."""
    with tempfile.TemporaryDirectory() as folder:
        (path,) = saved_scans([scan], Path(folder))
        batch = onward.record_return_slip(session, store, user, batch_id, path, signer, signed_on)
    return batch_out(session, batch)


@router.post("/{batch_id}/cancel", response_model=BatchOut)
def cancel(batch_id: int, data: CancelIn, session: DbSession, user: CurrentUser) -> BatchOut:
    """Withdraw an unsent 转递: the files stay, back on their shelf places."""
    return batch_out(session, onward.cancel_onward(session, user, batch_id, data.reason))


# ---- 材料补充 ------------------------------------------------------------------------------------

supplements_router = APIRouter(prefix="/api/supplements", tags=["supplements"])


@supplements_router.post("", response_model=SupplementOut, status_code=201)
def submit_supplement(
    session: DbSession,
    store: Store,
    user: CurrentUser,
    archival_code: VisibleText = Form(...),
    source: VisibleText = Form(...),
    class_code: VisibleText = Form(...),
    title: VisibleText = Form(...),
    pages: int = Form(...),
    date_formed: VisibleText = Form(""),
    copies: int = Form(1),
    remarks: VisibleText = Form(""),
    scans: list[UploadFile] = File(default=[]),
) -> SupplementOut:
    """A material formed after handover, with its scans (which must hold exactly its pages)."""
    form = supplements.SupplementForm(archival_code, source, class_code, title, pages, date_formed, copies, remarks)
    with tempfile.TemporaryDirectory(prefix="supplement-upload-") as tmp:
        paths = saved_scans(scans, Path(tmp))
        found = supplements.submit(session, store, user, form, paths)
    return SupplementOut.model_validate(found)


@supplements_router.get("", response_model=list[SupplementOut])
def waiting_supplements(session: DbSession, user: CurrentUser) -> list[SupplementOut]:
    return [SupplementOut.model_validate(s) for s in supplements.waiting(session, user)]


@supplements_router.post("/{supplement_id}/review", response_model=SupplementOut)
def review_supplement(
    supplement_id: int,
    data: ReviewIn,
    session: DbSession,
    store: Store,
    user: CurrentUser,
) -> SupplementOut:
    """Approve (added to the catalogue; a digitised dossier's copy rebuilt with the new pages) or reject."""
    found = supplements.review(session, store, user, supplement_id, data.approve, data.note)
    return SupplementOut.model_validate(found)
