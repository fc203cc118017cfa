"""Using a file: requests, approval, fulfilment (online view, certified copy, paper loan) and reports.

The use rules (STANDARDS.md Part A, "Use of files") live here once:
  * a request names a configured purpose, the classes needed, a mode and a validity window;
  * nobody reads his or her own file or a close relative's;
  * classified (涉密) files are never served online;
  * paper loans are exceptional (the purpose must allow them) and last at most 14 days;
  * an approver of the holding bureau decides; he may narrow the classes, never widen them;
  * every page delivered, download, print, copy, approval and export is in the access log first.
"""

import io
import tomllib
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, object_session

from archive_service.access import watermark
from archive_service.access.log import AccessAction, record_access
from archive_service.access.models import AccessLogEntry, RequestMode, RequestStatus, RetrievalRequest
from archive_service.auth.models import Role, User
from archive_service.auth.permissions import Action, require
from archive_service.config import get_settings
from archive_service.db import bureau_today, in_bureau_time, show_time
from archive_service.dossiers import missing
from archive_service.dossiers.class_schemes import top_class
from archive_service.dossiers.models import (
    CustodyEventKind,
    DigitalObject,
    Dossier,
    DossierStatus,
    Material,
    MaterialClass,
    Retiree,
)
from archive_service.dossiers.service import record_custody
from archive_service.errors import ArchiveError, Forbidden, NotFound
from archive_service.numbering import next_in_series
from archive_service.values import check_citizen_id, mask_citizen_id
from storage import ObjectStore

MAX_LOAN_DAYS = 14  # 借阅 原件: at most 14 days (use rules; not configurable)
CLOSE_RELATIVES = {
    "spouse": "配偶",
    "parent": "父母",
    "child": "子女",
    "sibling": "兄弟姐妹",
    "grandparent": "祖父母、外祖父母",
    "grandchild": "孙子女、外孙子女",
    "in_law": "配偶的父母、子女的配偶",
}
RELATIONSHIPS = {"none": "无亲属关系", **CLOSE_RELATIVES, "other": "其他亲属"}


@dataclass(frozen=True)
class Purpose:
    key: str
    label: str
    default_classes: tuple[int, ...]
    modes: tuple[RequestMode, ...]
    max_days: int
    after_death: bool = False  # still served online once the retiree has died (丧葬、抚恤)


@lru_cache(maxsize=4)
def _load_purposes(path: Path) -> dict[str, Purpose]:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    return {
        key: Purpose(
            key,
            v["label"],
            tuple(v["default_classes"]),
            tuple(RequestMode(m) for m in v["modes"]),
            int(v["max_days"]),
            bool(v.get("after_death", False)),
        )
        for key, v in data.items()
    }


def purposes() -> dict[str, Purpose]:
    return _load_purposes(get_settings().purposes_file or Path(__file__).with_name("purposes.toml"))


@dataclass(frozen=True)
class RequestForm:
    """What a requester fills in (the 审批表)."""

    dossier: str  # 档号 or the retiree's full citizen ID
    purpose: str
    purpose_detail: str
    material_classes: list[int]
    mode: RequestMode
    valid_from: date
    valid_until: date
    reader_name: str
    reader_citizen_id: str
    relationship: str = "none"


def _find_dossier(session: Session, reference: str) -> Dossier:
    """Requesters cannot browse: they name the file exactly, by 档号 or the retiree's full ID."""
    ref = reference.strip().upper()
    query = select(Dossier).join(Retiree).where((Dossier.archival_code == ref) | (Retiree.citizen_id == ref))
    dossier = session.scalar(query)
    if dossier is None or dossier.status not in (DossierStatus.in_custody, DossierStatus.on_loan):
        raise NotFound("该档号或身份证号对应的在馆档案", "dossier")
    return dossier


def submit_request(session: Session, requester: User, form: RequestForm, client: str) -> RetrievalRequest:
    require(requester, Action.submit_request)
    purpose = purposes().get(form.purpose)
    if purpose is None:
        raise ArchiveError("request.purpose", f"查阅目的“{form.purpose}”不在本馆规定的目的之列", "purpose")
    if not form.purpose_detail.strip():
        raise ArchiveError("request.purpose_detail", "请写明事由（如：待遇变更，核对参加工作时间）", "purpose_detail")
    classes = sorted(set(form.material_classes))
    if not classes or any(c not in range(1, 11) for c in classes):
        raise ArchiveError("request.material_classes", "请选择需查阅的材料类别（第一至第十类）", "material_classes")
    if form.mode not in purpose.modes:
        allowed = "、".join(m.label for m in purpose.modes)
        raise ArchiveError("request.mode", f"“{purpose.label}”只能以{allowed}方式利用", "mode")
    today = bureau_today()
    if form.valid_from < today:
        raise ArchiveError("request.valid_from", "有效期不能早于今天", "valid_from")
    if form.valid_until < form.valid_from:
        raise ArchiveError("request.valid_until", "有效期截止日不能早于开始日", "valid_until")
    days = (form.valid_until - form.valid_from).days + 1
    limit = min(purpose.max_days, MAX_LOAN_DAYS) if form.mode is RequestMode.paper_loan else purpose.max_days
    if days > limit:
        rule = (
            "借阅原件不超过 14 天"
            if form.mode is RequestMode.paper_loan
            else f"“{purpose.label}”有效期不超过 {limit} 天"
        )
        raise ArchiveError("request.validity_too_long", f"申请有效期 {days} 天：{rule}", "valid_until")
    if not form.reader_name.strip():
        raise ArchiveError("request.reader_name", "请填写查阅人姓名", "reader_name")
    try:
        reader_id = check_citizen_id(form.reader_citizen_id)
    except ValueError as e:
        raise ArchiveError(getattr(e, "code", "citizen_id.format"), str(e), "reader_citizen_id") from None
    if form.relationship not in RELATIONSHIPS:
        raise ArchiveError("request.relationship", "请选择查阅人与档案本人的关系", "relationship")
    dossier = _find_dossier(session, form.dossier)
    if reader_id == dossier.retiree.citizen_id:
        raise ArchiveError(
            "request.own_file", "任何人不得查阅本人档案；本人需要证明材料的，请由经办机构出具", "reader_citizen_id", 403
        )
    if form.relationship in CLOSE_RELATIVES:
        raise ArchiveError(
            "request.close_relative",
            f"查阅人是档案本人的{CLOSE_RELATIVES[form.relationship]}，按规定须回避，不得查阅",
            "relationship",
            403,
        )
    if dossier.retiree.classified_unit and form.mode is RequestMode.online_view:
        raise ArchiveError("request.classified_online", "涉密单位人员档案不提供网上查阅，请改为到馆查阅", "mode", 403)
    if form.mode is RequestMode.online_view:
        _refuse_after_death(dossier.retiree.deceased_date, purpose)
    year = today.year

    def issued_so_far() -> int:
        last = session.scalar(
            select(func.max(RetrievalRequest.number)).where(RetrievalRequest.number.startswith(f"CY-{year}-"))
        )
        return int(last.rsplit("-", 1)[1]) if last else 0

    request = RetrievalRequest(
        number=f"CY-{year}-{next_in_series(session, f'CY-{year}', issued_so_far):05d}",
        requester_id=requester.id,
        requester_org_id=requester.organisation_id,
        dossier_id=dossier.id,
        purpose=purpose.key,
        purpose_detail=form.purpose_detail.strip(),
        material_classes=classes,
        mode=form.mode,
        valid_from=form.valid_from,
        valid_until=form.valid_until,
        id_document=reader_id,
        reader_name=form.reader_name.strip(),
        relationship=form.relationship,
    )
    session.add(request)
    session.flush()
    return request


def visible_requests(user: User) -> Select[tuple[RetrievalRequest]]:
    """Requesters see their organisation's requests; bureau staff the requests for files they hold."""
    query = select(RetrievalRequest).join(Dossier, RetrievalRequest.dossier_id == Dossier.id)
    if user.role is Role.requester:
        return query.where(RetrievalRequest.requester_org_id == user.organisation_id)
    return query.where(Dossier.custodian_id == user.organisation_id)


def get_request(session: Session, user: User, request_id: int) -> RetrievalRequest:
    request = session.scalar(visible_requests(user).where(RetrievalRequest.id == request_id))
    if request is None:
        raise NotFound("该查阅申请", "request_id")
    return request


def decide(
    session: Session,
    approver: User,
    request: RetrievalRequest,
    *,
    approve: bool,
    client: str,
    material_classes: list[int] | None = None,
    allow_download: bool = False,
    allow_print: bool = False,
    reason: str = "",
) -> RetrievalRequest:
    require(approver, Action.approve_requests)
    if request.status is not RequestStatus.submitted:
        raise ArchiveError(
            "request.already_decided", f"申请 {request.number} 已{request.status.label}，不能再审批", "status", 409
        )
    if request.requester_id == approver.id:
        raise Forbidden("不能审批本人提交的申请")
    if approve:
        if material_classes is not None:
            narrowed = sorted(set(material_classes))
            if not narrowed or not set(narrowed) <= set(request.material_classes):
                raise ArchiveError(
                    "decision.material_classes", "批准范围只能缩小、不能超出申请的材料类别", "material_classes"
                )
            request.material_classes = narrowed
        request.allow_download = allow_download and request.mode is RequestMode.online_view
        request.allow_print = allow_print and request.mode is RequestMode.online_view
        request.status = RequestStatus.approved
    else:
        if not reason.strip():
            raise ArchiveError("decision.reason", "驳回须写明理由", "reason")
        request.status = RequestStatus.rejected
    request.approver_id = approver.id
    request.decided_at = datetime.now(UTC)
    request.decision_reason = reason.strip()
    session.flush()
    record_access(
        session,
        approver,
        AccessAction.approve if approve else AccessAction.reject,
        client,
        dossier_id=request.dossier_id,
        materials=request.material_classes,
        request_id=request.id,
        detail=request.number + (f"：{reason.strip()}" if reason.strip() else ""),
        with_change=True,
    )
    return request


# --- online view -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ApprovedMaterial:
    material: Material
    first_page: int
    last_page: int


def approved_pages(approved: list[ApprovedMaterial]) -> list[int]:
    """The pages of the approved materials, in catalogue order."""
    return [p for a in approved for p in range(a.first_page, a.last_page + 1)]


def classes_with_pages(session: Session, dossier_id: int) -> set[int]:
    """Top classes (1…10) of the file that have pages in its digitised copy (catalogued and linked)."""
    codes = session.scalars(
        select(MaterialClass.code)
        .join(Material, Material.material_class_id == MaterialClass.id)
        .where(Material.dossier_id == dossier_id, Material.first_page.is_not(None))
    )
    return {top_class(code) for code in codes}


def approved_materials(session: Session, request: RetrievalRequest) -> list[ApprovedMaterial]:
    # One query, no dossier graph: this runs for every page delivered.
    materials = session.scalars(
        select(Material)
        .where(Material.dossier_id == request.dossier_id, Material.first_page.is_not(None))
        .order_by(Material.sort_key)
    )
    return [
        ApprovedMaterial(m, m.first_page, m.last_page)  # type: ignore[arg-type]
        for m in materials
        if top_class(m.material_class.code) in request.material_classes and m.last_page
    ]


def _refuse_after_death(deceased: date | None, purpose: Purpose) -> None:
    """000 二(五): after a retiree's death the file serves the relatives' claims (丧葬、抚恤) online, nothing else."""
    if deceased is None or purpose.after_death:
        return
    allowed = "、".join(p.label for p in purposes().values() if p.after_death) or "无"
    raise ArchiveError(
        "request.deceased_online",
        f"档案本人已于 {deceased} 死亡，网上查阅仅限：{allowed}；其他事项请到馆查阅",
        "purpose",
        403,
    )


def _deceased_on(session: Session, dossier_id: int) -> date | None:
    return session.scalar(select(Retiree.deceased_date).join(Dossier).where(Dossier.id == dossier_id))


def check_online_use(request: RetrievalRequest, user: User, now: date | None = None) -> None:
    """Only the requester, only an approved online request, only inside its window, and after the
    retiree's death only for the purposes that outlive him or her."""
    today = now or bureau_today()
    if request.requester_id != user.id:
        raise Forbidden("只有申请人本人可以查阅")
    if request.mode is not RequestMode.online_view:
        raise ArchiveError("request.mode", "该申请不是网上查阅", "mode", 403)
    if request.status is not RequestStatus.approved:
        raise ArchiveError(
            "request.not_approved", f"申请 {request.number} {request.status.label}，不能查阅", "status", 403
        )
    if not request.valid_from <= today <= request.valid_until:
        raise ArchiveError(
            "request.outside_window",
            f"不在有效期内（{request.valid_from} 至 {request.valid_until}）",
            "valid_until",
            403,
        )
    session = object_session(request)
    assert session is not None
    _refuse_after_death(_deceased_on(session, request.dossier_id), purposes()[request.purpose])


def online_grants(session: Session, user: User, now: date | None = None) -> dict[int, RetrievalRequest]:
    """A requester's usable online requests, by dossier (the latest where there are several):
    the same conditions `check_online_use` asks of each page view."""
    today = now or bureau_today()
    found = session.scalars(
        select(RetrievalRequest)
        .where(
            RetrievalRequest.requester_id == user.id,
            RetrievalRequest.mode == RequestMode.online_view,
            RetrievalRequest.status == RequestStatus.approved,
            RetrievalRequest.valid_from <= today,
            RetrievalRequest.valid_until >= today,
        )
        .order_by(RetrievalRequest.id)
    ).all()
    deceased = set(
        session.scalars(
            select(Dossier.id)
            .join(Retiree)
            .where(Dossier.id.in_({r.dossier_id for r in found}), Retiree.deceased_date.is_not(None))
        )
    )
    after_death = {key for key, p in purposes().items() if p.after_death}
    return {r.dossier_id: r for r in found if r.dossier_id not in deceased or r.purpose in after_death}


def _use_copy(session: Session, dossier_id: int) -> DigitalObject:
    obj = session.scalars(
        select(DigitalObject)
        .where(DigitalObject.dossier_id == dossier_id, DigitalObject.role == "use_copy")
        .order_by(DigitalObject.version.desc())
    ).first()
    if obj is None:
        raise NotFound("该档案的数字副本（尚未数字化，请改为到馆查阅）", "dossier_id")
    return obj


_page_maps: dict[tuple, dict[int, int]] = {}


def _material_of_page(session: Session, request: RetrievalRequest, use_copy: DigitalObject, page: int) -> int:
    """The approved material a page belongs to. Page ranges change only with a new use copy and scope only
    with a decision, so the map is kept per (request, scope, use copy) instead of re-read for every page."""
    key = (request.id, tuple(request.material_classes), use_copy.id)
    if key not in _page_maps:
        if len(_page_maps) > 10_000:
            _page_maps.clear()
        _page_maps[key] = {
            p: a.material.id for a in approved_materials(session, request) for p in range(a.first_page, a.last_page + 1)
        }
    material_id = _page_maps[key].get(page)
    if material_id is None:
        raise ArchiveError("page.not_approved", f"第 {page} 页不在批准查阅的材料范围内", "page", 403)
    return material_id


def _stamp_lines(request: RetrievalRequest, user: User, now: datetime) -> list[str]:
    return [
        f"{user.display_name}",
        user.organisation.name,
        f"申请 {request.number}",
        show_time(now),
    ]


def deliver_page(
    session: Session, store: ObjectStore, user: User, request: RetrievalRequest, page: int, client: str
) -> bytes:
    """One watermarked page; the log entry is committed before the bytes are returned."""
    check_online_use(request, user)
    obj = _use_copy(session, request.dossier_id)
    material_id = _material_of_page(session, request, obj, page)
    now = datetime.now(UTC)
    lines = _stamp_lines(request, user, now)
    render = lambda: watermark.delivered_page(  # noqa: E731
        lambda: b"".join(store.open(obj.storage_key)),
        obj.storage_key,
        page,
        request.id,
        now.strftime("%Y%m%d%H%M"),
        lines,
    )
    image = render()  # a page that cannot be rendered is neither delivered nor logged
    record_access(
        session,
        user,
        AccessAction.view_page,
        client,
        dossier_id=request.dossier_id,
        materials=[material_id],
        pages=[page],
        request_id=request.id,
    )
    return image


def deliver_certificate_page(
    session: Session,
    store: ObjectStore,
    user: User,
    request: RetrievalRequest,
    missing_id: int,
    page: int,
    client: str,
) -> bytes:
    """One watermarked page of the certificate for a material missing from a granted class; logged like a page."""
    check_online_use(request, user)
    entry = missing.find_granted(session, request.dossier_id, request.material_classes, missing_id)
    image = missing.certificate_page(store, entry, page, _stamp_lines(request, user, datetime.now(UTC)))
    record_access(
        session,
        user,
        AccessAction.view_certificate,
        client,
        dossier_id=request.dossier_id,
        pages=[page],
        request_id=request.id,
        detail=f"缺失材料证明 {entry.id}：{entry.description}",
    )
    return image


def _approved_pages_marked(
    session: Session, store: ObjectStore, request: RetrievalRequest, lines: list[str], stamp: str
) -> tuple[list[ApprovedMaterial], list[int], list[bytes]]:
    """Every approved page of the use copy with the watermark `lines` (cached under `stamp`)."""
    obj = _use_copy(session, request.dossier_id)
    approved = approved_materials(session, request)
    pages = approved_pages(approved)
    content = lambda: b"".join(store.open(obj.storage_key))  # noqa: E731
    images = [watermark.delivered_page(content, obj.storage_key, p, request.id, stamp, lines) for p in pages]
    return approved, pages, images


def _pdf_of_pages(images: list[bytes], first: bytes | None = None) -> bytes:
    pages = ([Image.open(io.BytesIO(first))] if first else []) + [Image.open(io.BytesIO(b)) for b in images]
    buf = io.BytesIO()
    pages[0].save(buf, "PDF", save_all=True, append_images=pages[1:], resolution=150)
    return buf.getvalue()


def _hand_over_marked(
    session: Session,
    store: ObjectStore,
    user: User,
    request: RetrievalRequest,
    client: str,
    action: str,
    mark: str = "",
) -> tuple[list[ApprovedMaterial], list[int], list[bytes]]:
    """Every approved page stamped with who and when (and `mark`), logged as one `action` entry."""
    now = datetime.now(UTC)
    lines = [*_stamp_lines(request, user, now), *([mark] if mark else [])]
    approved, pages, images = _approved_pages_marked(session, store, request, lines, now.strftime("%Y%m%d%H%M"))
    record_access(
        session,
        user,
        action,
        client,
        dossier_id=request.dossier_id,
        materials=[a.material.id for a in approved],
        pages=pages,
        request_id=request.id,
    )
    return approved, pages, images


def deliver_download(session: Session, store: ObjectStore, user: User, request: RetrievalRequest, client: str) -> bytes:
    """All approved pages, watermarked, as one PDF to keep — only when the approval allows a download."""
    check_online_use(request, user)
    if not request.allow_download:
        raise ArchiveError("request.download_not_allowed", "审批未允许下载", "allow_download", 403)
    _, _, images = _hand_over_marked(session, store, user, request, client, AccessAction.download)
    return _pdf_of_pages(images)


@dataclass(frozen=True)
class PrintCopy:
    approved: list[ApprovedMaterial]
    pages: list[tuple[int, bytes]]  # (page number, watermarked JPEG)


def print_copy(session: Session, store: ObjectStore, user: User, request: RetrievalRequest, client: str) -> PrintCopy:
    """The approved pages for the print view, marked 打印件 with who and when. Printing is not a download:
    the pages go to a page made for the printer, never as a file (the approval may allow one without the
    other), and the whole print is one entry on the access log."""
    check_online_use(request, user)
    if not request.allow_print:
        raise ArchiveError("request.print_not_allowed", "审批未允许打印", "allow_print", 403)
    approved, pages, images = _hand_over_marked(
        session, store, user, request, client, AccessAction.print_page, mark="打印件"
    )
    return PrintCopy(approved, list(zip(pages, images, strict=True)))


# --- certified copies and paper loans (archivist's desk) ----------------------------------------


def certified_copy(
    session: Session, store: ObjectStore, archivist: User, request: RetrievalRequest, annotation: str, client: str
) -> bytes:
    """A PDF with the bureau's certification page (annotation, seal, date) before the approved pages."""
    require(archivist, Action.serve_requests)
    if request.mode is not RequestMode.certified_copy or request.status is not RequestStatus.approved:
        raise ArchiveError("request.not_certified_copy", "只有已批准的复制申请可以出具复制件", "mode", 409)
    if not annotation.strip():
        raise ArchiveError("copy.annotation", "请填写档案员注记（如：经核对与原件一致）", "annotation")
    now = datetime.now(UTC)
    lines = [archivist.organisation.name, f"申请 {request.number}", "复制件", show_time(now, "%Y-%m-%d")]
    approved, pages, images = _approved_pages_marked(session, store, request, lines, now.strftime("%Y%m%d"))
    request.copies_made += 1
    request.handled_by_id = archivist.id
    cover = _certification_page(session, request, archivist, annotation.strip(), approved, now)
    pdf = _pdf_of_pages(images, first=cover)
    session.flush()
    record_access(
        session,
        archivist,
        AccessAction.export,
        client,
        dossier_id=request.dossier_id,
        materials=[a.material.id for a in approved],
        pages=pages,
        request_id=request.id,
        detail=f"复制件第 {request.copies_made} 份：{annotation.strip()}",
        with_change=True,
    )
    return pdf


def _certification_page(
    session: Session,
    request: RetrievalRequest,
    archivist: User,
    annotation: str,
    approved: list[ApprovedMaterial],
    now: datetime,
) -> bytes:
    width, height = watermark.VIEW_WIDTH, round(watermark.VIEW_WIDTH * 297 / 210)
    page = Image.new("RGB", (width, height), "white")
    d = ImageDraw.Draw(page)
    dossier = session.get(Dossier, request.dossier_id)
    assert dossier is not None
    d.text((width // 2, 140), "档案复制件证明", font=watermark.font(56), fill="black", anchor="mm")
    body = [
        f"档号：{dossier.archival_code}",
        f"档案本人：{dossier.retiree.name}（{mask_citizen_id(dossier.retiree.citizen_id)}）",
        f"查阅申请：{request.number}　利用目的：{purposes()[request.purpose].label}",
        f"复制材料：共 {len(approved)} 份，{sum(a.last_page - a.first_page + 1 for a in approved)} 页",
        *[f"　{a.material.sequence} {a.material.title}（第 {a.first_page}–{a.last_page} 页）" for a in approved[:18]],
        "",
        f"档案员注记：{annotation}",
        f"经办档案员：{archivist.display_name}",
        f"出具日期：{in_bureau_time(now):%Y年%m月%d日}",
    ]
    y = 260
    for line in body:
        d.text((120, y), line, font=watermark.font(28), fill="black")
        y += 48
    cx, cy, r = width - 300, y + 80, 130  # the bureau's seal
    d.ellipse((cx - r, cy - r, cx + r, cy + r), outline=(200, 20, 20), width=8)
    d.text((cx, cy), "★", font=watermark.font(90), fill=(200, 20, 20), anchor="mm")
    d.text((cx, cy + 80), archivist.organisation.name[-8:], font=watermark.font(24), fill=(200, 20, 20), anchor="mm")
    d.text((cx, cy + r + 40), "（档案馆印章）", font=watermark.font(22), fill=(120, 120, 120), anchor="mm")
    buf = io.BytesIO()
    page.save(buf, "JPEG", quality=85)
    return buf.getvalue()


def lend(session: Session, archivist: User, request: RetrievalRequest, client: str) -> RetrievalRequest:
    require(archivist, Action.serve_requests)
    dossier = session.get(Dossier, request.dossier_id)
    assert dossier is not None
    if request.mode is not RequestMode.paper_loan or request.status is not RequestStatus.approved:
        raise ArchiveError("loan.not_approved", "只有已批准的借阅原件申请可以出借", "mode", 409)
    if request.loan_out_at is not None:
        raise ArchiveError("loan.already_out", f"申请 {request.number} 已出借", "loan_out_at", 409)
    if dossier.status is not DossierStatus.in_custody:
        raise ArchiveError("loan.not_in_custody", f"档案当前为“{dossier.status.label}”，不能出借", "status", 409)
    today = bureau_today()
    if not request.valid_from <= today <= request.valid_until:
        raise ArchiveError("request.outside_window", "不在申请有效期内", "valid_until", 409)
    request.loan_out_at = datetime.now(UTC)
    request.loan_due = min(today + timedelta(days=MAX_LOAN_DAYS - 1), request.valid_until)
    request.handled_by_id = archivist.id
    dossier.status = DossierStatus.on_loan
    record_custody(
        session,
        dossier,
        CustodyEventKind.loaned,
        actor=archivist,
        from_org_id=dossier.custodian_id,
        to_org_id=request.requester_org_id,
        note=f"{request.number}，应还日期 {request.loan_due}",
    )
    session.flush()
    record_access(
        session,
        archivist,
        AccessAction.loan_out,
        client,
        dossier_id=dossier.id,
        request_id=request.id,
        detail=f"应还 {request.loan_due}",
        with_change=True,
    )
    return request


def take_back(
    session: Session, archivist: User, request: RetrievalRequest, complete: bool, note: str, client: str
) -> RetrievalRequest:
    require(archivist, Action.serve_requests)
    if request.loan_out_at is None or request.loan_returned_at is not None:
        raise ArchiveError("loan.not_out", f"申请 {request.number} 没有在借的原件", "loan_out_at", 409)
    if not complete and not note.strip():
        raise ArchiveError("loan.return_check", "归还时材料与目录不符，须写明缺少或损坏的情况", "note")
    dossier = session.get(Dossier, request.dossier_id)
    assert dossier is not None
    request.loan_returned_at = datetime.now(UTC)
    request.return_check = ("按目录核对无误" if complete else "与目录不符：") + note.strip()
    request.status = RequestStatus.closed
    dossier.status = DossierStatus.in_custody
    record_custody(
        session,
        dossier,
        CustodyEventKind.returned,
        actor=archivist,
        from_org_id=request.requester_org_id,
        to_org_id=dossier.custodian_id,
        note=f"{request.number}：{request.return_check}",
    )
    session.flush()
    record_access(
        session,
        archivist,
        AccessAction.loan_return,
        client,
        dossier_id=dossier.id,
        request_id=request.id,
        detail=request.return_check,
        with_change=True,
    )
    return request


def waiting_request_count(session: Session, organisation_id: int) -> int:
    """Requests for the bureau's files waiting for a decision (the dashboard's tile)."""
    return (
        session.scalar(
            select(func.count())
            .select_from(RetrievalRequest)
            .join(Dossier)
            .where(Dossier.custodian_id == organisation_id, RetrievalRequest.status == RequestStatus.submitted)
        )
        or 0
    )


def overdue_loans(session: Session, organisation_id: int, today: date | None = None) -> list[RetrievalRequest]:
    return list(
        session.scalars(
            select(RetrievalRequest)
            .join(Dossier, RetrievalRequest.dossier_id == Dossier.id)
            .where(
                Dossier.custodian_id == organisation_id,
                RetrievalRequest.loan_out_at.is_not(None),
                RetrievalRequest.loan_returned_at.is_(None),
                RetrievalRequest.loan_due < (today or bureau_today()),
            )
            .order_by(RetrievalRequest.loan_due)
        )
    )


# --- the register and reports -------------------------------------------------------------------


@dataclass
class LogFilter:
    archival_code: str = ""
    username: str = ""
    action: str = ""
    since: date | None = None
    until: date | None = None
    page: int = 1


LOG_PAGE = 100


def log_entries(session: Session, reader: User, f: LogFilter) -> tuple[int, list[AccessLogEntry]]:
    """The log for auditors and administrators, limited to their organisation's files and staff, and
    requesters' searches."""
    require(reader, Action.read_audit_log)
    query = (
        select(AccessLogEntry)
        .outerjoin(Dossier, AccessLogEntry.dossier_id == Dossier.id)
        .outerjoin(User, AccessLogEntry.user_id == User.id)
        .where(
            (Dossier.custodian_id == reader.organisation_id)
            | (AccessLogEntry.organisation_id == reader.organisation_id)
            # A requester's search may be after any bureau's file: every bureau's auditor sees it.
            | (AccessLogEntry.action == AccessAction.search)
        )
    )
    if f.archival_code:
        query = query.where(Dossier.archival_code == f.archival_code.strip().upper())
    if f.username:
        query = query.where(User.username == f.username.strip())
    if f.action:
        query = query.where(AccessLogEntry.action == f.action)
    if f.since:
        query = query.where(AccessLogEntry.at >= datetime.combine(f.since, datetime.min.time(), UTC))
    if f.until:
        query = query.where(AccessLogEntry.at < datetime.combine(f.until + timedelta(days=1), datetime.min.time(), UTC))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(AccessLogEntry.seq.desc()).limit(LOG_PAGE).offset((f.page - 1) * LOG_PAGE))
    return total, list(rows)


def usage_statistics(session: Session, reader: User) -> dict[str, list[tuple[str, int]]]:
    """Requests per requesting organisation and per purpose, for the bureau's files."""
    require(reader, Action.read_audit_log)
    from archive_service.organisations.models import Organisation

    base = (
        select(RetrievalRequest)
        .join(Dossier, RetrievalRequest.dossier_id == Dossier.id)
        .where(Dossier.custodian_id == reader.organisation_id)
        .subquery()
    )
    by_org = session.execute(
        select(Organisation.name, func.count())
        .join(base, base.c.requester_org_id == Organisation.id)
        .group_by(Organisation.name)
        .order_by(func.count().desc())
    ).all()
    by_purpose = session.execute(
        select(base.c.purpose, func.count()).group_by(base.c.purpose).order_by(func.count().desc())
    ).all()
    labels = {k: p.label for k, p in purposes().items()}
    return {
        "by_organisation": [(n, c) for n, c in by_org],
        "by_purpose": [(labels.get(k, k), c) for k, c in by_purpose],
    }


def register_xlsx(session: Session, reader: User, f: LogFilter, client: str) -> bytes:
    """The filtered log as an .xlsx register; the export itself is logged."""
    from openpyxl import Workbook

    f = LogFilter(**{**f.__dict__, "page": 1})
    wb = Workbook()
    ws = wb.active
    ws.title = "利用登记"
    ws.append(["序号", "时间", "用户", "角色", "单位", "地址", "操作", "档号", "材料", "页码", "申请编号", "说明"])
    page = 1
    while True:
        total, rows = log_entries(session, reader, LogFilter(**{**f.__dict__, "page": page}))
        for e in rows:
            ws.append(_register_row(session, e))
        if page * LOG_PAGE >= total:
            break
        page += 1
    buf = io.BytesIO()
    wb.save(buf)
    record_access(
        session,
        reader,
        AccessAction.export,
        client,
        detail=f"导出利用登记 {f.archival_code or '全部档案'} {f.since or ''}–{f.until or ''}",
    )
    return buf.getvalue()


def _register_row(session: Session, e: AccessLogEntry) -> list[Any]:
    user = session.get(User, e.user_id) if e.user_id else None
    dossier = session.get(Dossier, e.dossier_id) if e.dossier_id else None
    request = session.get(RetrievalRequest, e.request_id) if e.request_id else None
    return [
        e.seq,
        show_time(e.at, "%Y-%m-%d %H:%M:%S"),
        user.display_name if user else "系统",
        Role(e.role).label if e.role in Role.__members__ else "系统",
        user.organisation.name if user else "",
        e.client_address,
        ACTION_LABELS.get(e.action, e.action),
        dossier.archival_code if dossier else "",
        "；".join(  # the materials as the catalogue names them, not their row ids
            f"{m.sequence} {m.title}" for m in (session.get(Material, i) for i in e.materials or []) if m
        ),
        ",".join(map(str, e.pages or [])),
        request.number if request else "",
        e.detail,
    ]


ACTION_LABELS = {
    AccessAction.view_copy: "查看数字副本",
    AccessAction.view_page: "网上查阅",
    AccessAction.view_certificate: "查阅缺失材料证明",
    AccessAction.download: "下载",
    AccessAction.print_page: "打印",
    AccessAction.search_hit_opened: "检索结果打开",
    AccessAction.search: "检索",
    AccessAction.approve: "批准",
    AccessAction.reject: "驳回",
    AccessAction.export: "导出/复制",
    AccessAction.fact_sheet: "导出核查表",
    AccessAction.loan_out: "借出原件",
    AccessAction.loan_return: "归还原件",
    AccessAction.account_created: "创建账户",
    AccessAction.account_changed: "变更账户",
    AccessAction.policy_changed: "变更本馆政策",
}
