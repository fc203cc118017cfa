"""Pages for transfer batches: the list with both deadlines, a batch's register, the receiving screen
(keyboard only: scan, Enter), acceptance, confirmation and the receipt, 转递; and the supplementary
materials (材料补充) on a dossier's page. They call the same services as the API. The handover campaign
and the yearly statistics have their own pages (campaign_pages.py)."""

import base64
import tempfile
from pathlib import Path
from urllib.parse import quote

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.datastructures import UploadFile as StarletteUpload

from archive_service.access.log import AccessAction, record_access
from archive_service.adapters import object_store
from archive_service.auth.models import User
from archive_service.auth.permissions import Action, can
from archive_service.deps import CurrentUser, DbSession, Store, client_address, stored_object_shown
from archive_service.dossiers.models import Dossier
from archive_service.dossiers.service import get_dossier
from archive_service.errors import ArchiveError, NotFound
from archive_service.organisations import jurisdiction
from archive_service.organisations.models import Organisation, OrganisationKind
from archive_service.organisations.service import set_accepts_lixiu
from archive_service.organisations.service import set_jurisdiction as set_jurisdiction_rule
from archive_service.transfers import (
    acceptance,
    catalogues,
    certificates,
    fees,
    intake,
    onward,
    receiving,
    register,
    service,
    supplements,
)
from archive_service.transfers.models import ItemResult
from archive_service.transfers.receipt import ReceiptCheck, register_rows
from archive_service.uploads import saved_scans, uploaded_bytes
from archive_service.web.dossier_pages import dossier_page_refused
from archive_service.web.forms import refusal_shows
from archive_service.web.rendering import form_choice, form_date, form_number, templates

router = APIRouter(include_in_schema=False)


def _list_page(
    request: Request,
    session: Session,
    user: User,
    error: ArchiveError | None = None,
    receipt_check: ReceiptCheck | None = None,
    marked_register: str = "",
) -> HTMLResponse:
    # The system administrator sets the bureau's jurisdiction here but sees no batch (its rows name retirees).
    batches = service.list_batches(session, user) if can(user, Action.view_dossiers) else []
    bureau = session.get(Organisation, user.organisation_id)
    assert bureau is not None
    rule = jurisdiction.rule_of(bureau)
    enterprises = session.scalars(
        select(Organisation).where(Organisation.kind == OrganisationKind.enterprise).order_by(Organisation.name)
    ).all()
    bureaus = session.scalars(
        select(Organisation)
        .where(Organisation.kind == OrganisationKind.bureau, Organisation.id != user.organisation_id)
        .order_by(Organisation.name)
    ).all()
    return templates.TemplateResponse(
        request,
        "transfers.html",
        {
            "user": user,
            "rows": [(b, service.progress(session, b)) for b in batches],
            "enterprises": enterprises,
            "bureaus": bureaus,
            "can_send": can(user, Action.send_onward),
            "supplements_waiting": supplements.waiting(session, user) if can(user, Action.register_dossier) else [],
            "headers": "\t".join(register.HEADERS),
            "can_receive": can(user, Action.receive_transfers),
            "can_set_jurisdiction": can(user, Action.set_jurisdiction),
            "jurisdiction_rule": rule,
            "jurisdiction": jurisdiction.RULES[rule],
            "jurisdiction_rules": jurisdiction.RULES,
            "accepts_lixiu": bureau.accepts_lixiu,
            "lixiu_basis": jurisdiction.LIXIU_BASIS,
            "receipt_check": receipt_check,
            "marked_register": marked_register,
            "error": error,
        },
        status_code=error.status if error else 200,
    )


@router.get("/transfers", response_class=HTMLResponse)
def transfers_page(request: Request, session: DbSession, user: CurrentUser) -> Response:
    return _list_page(request, session, user)


@router.post("/transfers")
def upload_register(
    request: Request,
    session: DbSession,
    user: CurrentUser,
    enterprise_id: str = Form(""),
    file: UploadFile = File(...),
    managing_unit: str = Form(""),
    managing_reason: str = Form(""),
    approval_reference: str = Form(""),
) -> Response:
    handover = intake.Handover(managing_unit, managing_reason, approval_reference)
    data, filename = b"", file.filename or ""
    with refusal_shows(session, lambda error: _register_refused(request, session, user, error, data, filename)):
        data = uploaded_bytes(file, "名册文件")
        enterprise = form_choice(enterprise_id, "enterprise_id", "移交单位")
        batch = intake.import_register(session, user, enterprise, data, filename, handover)
    return RedirectResponse(f"/transfers/{batch.id}", status_code=303)


def _register_refused(
    request: Request, session: Session, user: User, error: ArchiveError, data: bytes, filename: str
) -> HTMLResponse:
    """The refused register's problems, with the register itself marked (problem cells red, a 问题 column)
    as a download to send back to the enterprise: built from the upload in hand, nothing is kept."""
    marked = ""
    if error.problems and data:
        marked = base64.b64encode(register.marked_register(data, filename, error.problems)).decode("ascii")
    return _list_page(request, session, user, error, marked_register=marked)


@router.post("/transfers/receipt-check")
def check_receipt(
    request: Request,
    session: DbSession,
    user: CurrentUser,
    file: UploadFile = File(...),
) -> Response:
    """A 交接书 PDF someone holds, checked against its own manifest and this bureau's record of the batch."""
    with refusal_shows(session, lambda error: _list_page(request, session, user, error)):
        check = service.verify_receipt(session, uploaded_bytes(file, "交接书"), user)
    return _list_page(request, session, user, receipt_check=check)


@router.post("/transfers/jurisdiction")
def set_jurisdiction(
    request: Request,
    session: DbSession,
    user: CurrentUser,
    rule: str = Form(...),
) -> Response:
    with refusal_shows(session, lambda error: _list_page(request, session, user, error)):
        set_jurisdiction_rule(session, user, rule, client_address(request))
    return RedirectResponse("/transfers#jurisdiction", status_code=303)


@router.post("/transfers/lixiu")
def set_lixiu(
    request: Request,
    session: DbSession,
    user: CurrentUser,
    accepts: str = Form(""),
) -> Response:
    """Whether the bureau takes 离休 retirees' files (000 一: 具备条件的可以移交)."""
    with refusal_shows(session, lambda error: _list_page(request, session, user, error)):
        set_accepts_lixiu(session, user, accepts == "yes", client_address(request))
        session.commit()
    return RedirectResponse("/transfers#jurisdiction", status_code=303)


@router.post("/transfers/pasted")
def paste_register(
    request: Request,
    session: DbSession,
    user: CurrentUser,
    enterprise_id: str = Form(""),
    rows: str = Form(""),
) -> Response:
    """A register entered on the page: rows typed or pasted from a spreadsheet, the header row first."""
    data = rows.encode("utf-8")
    with refusal_shows(session, lambda error: _register_refused(request, session, user, error, data, "名册.txt")):
        enterprise = form_choice(enterprise_id, "enterprise_id", "移交单位")
        batch = intake.import_register(session, user, enterprise, data, "名册.txt")
    return RedirectResponse(f"/transfers/{batch.id}", status_code=303)


@router.post("/transfers/onward")
def send_onward(
    request: Request,
    session: DbSession,
    user: CurrentUser,
    to_org_id: str = Form(""),
    archival_codes: str = Form(""),
    note: str = Form(""),
) -> Response:
    """转递: the archival codes scanned one per line (or separated by spaces or commas)."""
    codes = archival_codes.replace(",", " ").replace("，", " ").split()
    with refusal_shows(session, lambda error: _list_page(request, session, user, error)):
        batch = onward.send_onward(session, user, form_choice(to_org_id, "to_org_id", "接收馆"), codes, note)
    return RedirectResponse(f"/transfers/{batch.id}", status_code=303)


@router.get("/transfers/{batch_id}/retained/{dossier_id}.pdf")
def retained_copy(
    batch_id: int,
    dossier_id: int,
    request: Request,
    session: DbSession,
    store: Store,
    user: CurrentUser,
) -> Response:
    """The sending bureau's retained copy of a file it sent on; every opening is on the access log."""
    use_copy = onward.retained_copies(session, user, batch_id).get(dossier_id)
    if use_copy is None:
        raise NotFound("该档案的留存副本", "dossier_id")
    record_access(
        session,
        user,
        AccessAction.view_copy,
        client_address(request),
        dossier_id=dossier_id,
        detail=f"留存副本 {use_copy.name} v{use_copy.version}",
    )
    return stored_object_shown(store, use_copy)


def _batch_page(
    request: Request, session: Session, user: User, batch_id: int, template: str, error: ArchiveError | None = None
) -> HTMLResponse:
    batch = service.get_batch(session, user, batch_id)
    items, codes = register_rows(session, batch)
    with_copies = len(acceptance.digitised_dossiers(session, batch))
    recent = sorted((i for i in items if i.checked_at), key=lambda i: i.checked_at, reverse=True)[:8]  # type: ignore[arg-type,return-value]
    return templates.TemplateResponse(
        request,
        template,
        {
            "user": user,
            "batch": batch,
            "items": items,
            "codes": codes,
            "recent": recent,
            "progress": service.progress(session, batch),
            "can_receive": can(user, Action.receive_transfers) and batch.to_org_id == user.organisation_id,
            "can_accept": can(user, Action.digitise) and batch.to_org_id == user.organisation_id,
            "can_confirm_sending": batch.kind.value == "onward"
            and can(user, Action.send_onward)
            and batch.from_org_id == user.organisation_id,
            "paper_onward": batch.kind.value == "onward" and not onward.receiver_uses_this_installation(session, batch),
            "retained": onward.retained_copies(session, user, batch.id)
            if can(user, Action.read_digital_copy) and batch.from_org_id == user.organisation_id
            else {},
            "with_copies": with_copies,
            "undigitised": service.undigitised(session, batch) if not batch.receiver_confirmed_at else 0,
            "paper_only_basis": service.PAPER_ONLY,
            "acceptance": batch.acceptance,
            "acceptance_summary": acceptance.summary(batch.acceptance, with_copies),
            "criteria": acceptance.CRITERIA,
            "machine_checks": acceptance.MACHINE_CHECKS,
            "error": error,
            "done": request.query_params.get("done", ""),
            "just_received": _just_received(items, request.query_params.get("dossier", "")),
            "can_import_catalogue": can(user, Action.edit_catalogue)
            and batch.to_org_id == user.organisation_id
            and batch.status.value != "confirmed"
            and batch.kind.value != "onward",
            "lacking_certificates": certificates.without_certificate(session, batch),
            "certificate_waivers": certificates.waivers(session, batch),
            "can_waive": can(user, Action.waive_certificate) and batch.to_org_id == user.organisation_id,
            "certificates_basis": certificates.BASIS,
            "fee": fees.batch_fee(session, user, batch),
            "fee_basis": fees.HANDOVER_BASIS,
            "receiver_confirmed_by": session.get(User, batch.receiver_confirmed_by_id)
            if batch.receiver_confirmed_by_id
            else None,
        },
        status_code=error.status if error else 200,
    )


def _just_received(items: list, dossier: str) -> int | None:
    """The file the last check took in (its box label is offered), if it is one of this batch's."""
    return next((i.dossier_id for i in items if dossier.isdigit() and i.dossier_id == int(dossier)), None)


@router.post("/transfers/{batch_id}/catalogue")
def import_catalogue(
    batch_id: int,
    request: Request,
    session: DbSession,
    store: Store,
    user: CurrentUser,
    file: UploadFile = File(...),
) -> Response:
    """The batch's 卷内目录 workbook from the batch page; a refused one lists every problem by row and column."""
    with refusal_shows(session, lambda error: _batch_page(request, session, user, batch_id, "transfer.html", error)):
        data = uploaded_bytes(file, "卷内目录文件")
        done = catalogues.import_workbook(session, store, user, batch_id, data, file.filename or "")
    message = (
        f"卷内目录已导入：{done['files']} 份档案、{done['materials']} 条材料"
        f"（已接收的 {done['catalogued']} 份已著录，其余 {done['waiting_for_receipt']} 份在接收时著录）"
    )
    return RedirectResponse(f"/transfers/{batch_id}?done={quote(message)}#batch-catalogue", status_code=303)


@router.get("/transfers/{batch_id}", response_class=HTMLResponse)
def batch_page(batch_id: int, request: Request, session: DbSession, user: CurrentUser) -> Response:
    return _batch_page(request, session, user, batch_id, "transfer.html")


@router.post("/transfers/{batch_id}/items/{item_id}/certificate-waiver")
def waive_certificate(
    batch_id: int,
    item_id: int,
    request: Request,
    session: DbSession,
    user: CurrentUser,
    reason: str = Form(""),
) -> Response:
    """The approver accepts a file marked 缺失 without its certificate, saying why (001 第九条(一))."""
    with refusal_shows(session, lambda error: _batch_page(request, session, user, batch_id, "transfer.html", error)):
        certificates.waive(session, user, batch_id, item_id, reason)
        session.commit()
    return RedirectResponse(f"/transfers/{batch_id}#missing-certificates", status_code=303)


@router.post("/transfers/{batch_id}/return-slip")
def record_return_slip(
    batch_id: int,
    request: Request,
    session: DbSession,
    store: Store,
    user: CurrentUser,
    signer: str = Form(""),
    signed_on: str = Form(""),
    scan: UploadFile = File(...),
) -> Response:
    """The receiving bureau's signed 转递单 came back: recorded, the batch closes."""
    with refusal_shows(session, lambda error: _batch_page(request, session, user, batch_id, "transfer.html", error)):
        when = form_date(signed_on, "signed_on") if signed_on.strip() else None
        with tempfile.TemporaryDirectory() as folder:
            (path,) = saved_scans([scan], Path(folder))
            onward.record_return_slip(session, store, user, batch_id, path, signer, when)
        session.commit()
    return RedirectResponse(f"/transfers/{batch_id}?done={quote('已登记回执，批次办结')}", status_code=303)


@router.post("/transfers/{batch_id}/cancel")
def cancel_onward(
    batch_id: int,
    request: Request,
    session: DbSession,
    user: CurrentUser,
    reason: str = Form(""),
) -> Response:
    with refusal_shows(session, lambda error: _batch_page(request, session, user, batch_id, "transfer.html", error)):
        onward.cancel_onward(session, user, batch_id, reason)
        session.commit()
    return RedirectResponse(f"/transfers/{batch_id}?done={quote('已撤销转递，档案回原架位')}", status_code=303)


@router.get("/transfers/{batch_id}/receive", response_class=HTMLResponse)
def receive_page(batch_id: int, request: Request, session: DbSession, user: CurrentUser) -> Response:
    return _batch_page(request, session, user, batch_id, "receive.html")


@router.post("/transfers/{batch_id}/receive")
def receive(
    batch_id: int,
    request: Request,
    session: DbSession,
    user: CurrentUser,
    key: str = Form(""),
    result: str = Form("accepted"),
    reason: str = Form(""),
    volumes: str = Form(""),
    pages: str = Form(""),
    materials: str = Form(""),
) -> Response:
    with refusal_shows(session, lambda error: _batch_page(request, session, user, batch_id, "receive.html", error)):
        counts = {
            name: form_number(text, name, int)
            for name, text in (("volumes", volumes), ("pages", pages), ("materials", materials))
        }
        if result not in ("accepted", "discrepancy", "rejected"):
            raise ArchiveError("result.unknown", "核对结果应为接收、有差异接收或退回", "result", 422)
        item = receiving.receive(session, user, batch_id, receiving.Check(key, ItemResult(result), reason, **counts))
    code = session.get(Dossier, item.dossier_id).archival_code if item.dossier_id else ""  # type: ignore[union-attr]
    done = (
        f"第 {item.row_no} 行 {item.retiree_name}：{item.result.label}"
        + (f"，档号 {code}" if code else "")
        + (f"（{item.reason}）" if item.reason else "")
    )
    # The file just received: its box label can be printed at the desk (the page offers it).
    received = f"&dossier={item.dossier_id}" if item.dossier_id and item.result is not ItemResult.rejected else ""
    return RedirectResponse(f"/transfers/{batch_id}/receive?done={quote(done)}{received}", status_code=303)


@router.post("/transfers/{batch_id}/confirm")
def confirm(
    batch_id: int,
    request: Request,
    session: DbSession,
    user: CurrentUser,
    side: str = Form(""),
    sender_name: str = Form(""),
    paper_reason: str = Form(""),
) -> Response:
    with refusal_shows(session, lambda error: _batch_page(request, session, user, batch_id, "transfer.html", error)):
        batch = service.confirm(session, user, batch_id, side, sender_name, paper_reason)
    done = "双方已确认，批次办结" if batch.manifest_sha256 else ("移交方已确认" if side == "sender" else "接收方已确认")
    return RedirectResponse(f"/transfers/{batch_id}?done={done}", status_code=303)


@router.post("/transfers/{batch_id}/acceptance")
async def acceptance_step(batch_id: int, request: Request, session: DbSession, user: CurrentUser) -> Response:
    """One step of 验收: start a round (machine checks + sample), record one sampled dossier, conclude.
    The form is read here; the checks (which read stored objects) run in the threadpool."""
    form = await request.form()
    return await run_in_threadpool(_acceptance_step, request, session, user, batch_id, form)


def _acceptance_step(request: Request, session: Session, user: User, batch_id: int, form: FormData) -> Response:
    step = str(form.get("step", ""))
    with refusal_shows(session, lambda error: _batch_page(request, session, user, batch_id, "transfer.html", error)):
        if step == "start":
            record = service.start_acceptance(session, object_store(), user, batch_id)
            done = "机检完成，已抽取样本" if record["stage"] == "inspecting" else "机检不合格，见下方问题"
        elif step == "inspect":
            dossier_id = form_number(str(form.get("dossier_id", "")), "dossier_id", int)
            marks = {}
            for criterion in acceptance.CRITERIA:
                verdict = str(form.get(criterion, ""))
                if verdict in ("pass", "fail"):
                    marks[criterion] = verdict == "pass"
            service.inspect_sample(session, user, batch_id, dossier_id or 0, marks, str(form.get("note", "")))
            done = "已记录该样本的检查结果"
        elif step == "conclude":
            record = service.conclude_acceptance(session, user, batch_id)
            done = "验收合格" if record["result"] == "passed" else "验收不合格"
        else:
            raise ArchiveError("step.unknown", "未知的验收步骤", "step", 422)
    return RedirectResponse(f"/transfers/{batch_id}?done={done}#acceptance", status_code=303)


@router.post("/dossiers/{dossier_id}/supplements")
async def submit_supplement(dossier_id: int, request: Request, session: DbSession, user: CurrentUser) -> Response:
    """材料补充 from the dossier page: the material's particulars and its scans; a refused one comes back
    on the dossier page as typed. The scans are decoded in the threadpool, off the event loop."""
    form = await request.form()
    return await run_in_threadpool(_submit_supplement, request, session, user, dossier_id, form)


def _submit_supplement(request: Request, session: Session, user: User, dossier_id: int, form: FormData) -> Response:
    with refusal_shows(session, lambda error: dossier_page_refused(request, session, user, dossier_id, error)):
        dossier = get_dossier(session, user, dossier_id)
        values = supplements.SupplementForm(
            archival_code=dossier.archival_code,
            source=str(form.get("source", "")),
            class_code=str(form.get("class_code", "")),
            title=str(form.get("title", "")),
            pages=form_number(str(form.get("pages", "")), "pages", int) or 0,
            date_formed=str(form.get("date_formed", "")),
            copies=form_number(str(form.get("copies", "")), "copies", int) or 1,
            remarks=str(form.get("remarks", "")),
        )
        uploads = [f for f in form.getlist("scans") if isinstance(f, StarletteUpload) and f.filename]
        with tempfile.TemporaryDirectory(prefix="supplement-upload-") as tmp:
            paths = saved_scans(uploads, Path(tmp))  # type: ignore[arg-type]
            supplements.submit(session, object_store(), user, values, paths)
    return RedirectResponse(f"/dossiers/{dossier_id}#supplements", status_code=303)


@router.post("/supplements/{supplement_id}/review")
def review_supplement(
    supplement_id: int,
    request: Request,
    session: DbSession,
    store: Store,
    user: CurrentUser,
    decision: str = Form(""),
    note: str = Form(""),
) -> Response:
    dossier_id = supplements.get(session, user, supplement_id).dossier_id
    with refusal_shows(session, lambda error: dossier_page_refused(request, session, user, dossier_id, error)):
        if decision not in ("approve", "reject"):
            raise ArchiveError("decision.unknown", "请选择归档或不予归档", "decision", 422)
        found = supplements.review(session, store, user, supplement_id, decision == "approve", note)
    return RedirectResponse(f"/dossiers/{found.dossier_id}#supplements", status_code=303)
