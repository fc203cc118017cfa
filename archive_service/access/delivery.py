"""Using a file under an approved request: the online viewer's pages (and the certificates of missing
materials) watermarked per view, downloads and prints as the approval allows, certified copies — every
one on the access log before it is handed over."""

import io
from dataclasses import dataclass
from datetime import UTC, date, datetime

from PIL import Image
from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from archive_service.access import certification, watermark
from archive_service.access.log import AccessAction, record_access
from archive_service.access.models import RequestMode, RequestStatus, RetrievalRequest
from archive_service.access.service import _refuse_after_death, purposes
from archive_service.auth import standing
from archive_service.auth.models import User
from archive_service.auth.permissions import Action, require
from archive_service.db import bureau_today, in_bureau_time, show_time
from archive_service.dossiers import missing
from archive_service.dossiers.class_schemes import top_class
from archive_service.dossiers.models import (
    DigitalObject,
    Dossier,
    DossierStatus,
    Material,
    MaterialClass,
    MissingMaterial,
    Retiree,
)
from archive_service.errors import ArchiveError, Forbidden, NotFound
from archive_service.preservation.models import still_stored
from archive_service.values import mask_citizen_id, page_ranges
from storage import ObjectStore

# --- online view -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ApprovedMaterial:
    material: Material
    first_page: int
    last_page: int


def approved_pages(approved: list[ApprovedMaterial]) -> list[int]:
    """The pages of the approved materials, in catalogue order."""
    return [p for a in approved for p in range(a.first_page, a.last_page + 1)]


def certified_classes(session: Session, dossier_id: int) -> set[int]:
    """Top classes (1…10) with the certificate of a material the file lacks: a request for one is served
    the certificate instead of pages (with `pages_by_class`, what a request can be served from)."""
    return {m.material_class.top_class for m in missing.missing_of(session, dossier_id)}


def pages_by_class(session: Session, dossier_id: int) -> dict[int, int]:
    """Digitised pages of the file per top class (1…10), as the catalogue links them: what approving a
    class serves in pages (the approver sees it before deciding)."""
    linked = session.execute(
        select(MaterialClass.code, Material.first_page, Material.last_page)
        .join(Material, Material.material_class_id == MaterialClass.id)
        .where(Material.dossier_id == dossier_id, Material.first_page.is_not(None), Material.last_page.is_not(None))
    )
    pages: dict[int, int] = {}
    for code, first, last in linked:
        if first and last:  # both set: the query's condition, which the types cannot see
            pages[top_class(code)] = pages.get(top_class(code), 0) + last - first + 1
    return pages


def approved_materials(session: Session, use_request: RetrievalRequest) -> list[ApprovedMaterial]:
    # One query, no dossier graph: this runs for every page delivered.
    materials = session.scalars(
        select(Material)
        .where(Material.dossier_id == use_request.dossier_id, Material.first_page.is_not(None))
        .order_by(Material.sort_key)
    )
    return [
        ApprovedMaterial(m, m.first_page, m.last_page)  # type: ignore[arg-type]
        for m in materials
        if top_class(m.material_class.code) in use_request.material_classes and m.last_page
    ]


def _deceased_on(session: Session, dossier_id: int) -> date | None:
    return session.scalar(select(Retiree.deceased_date).join(Dossier).where(Dossier.id == dossier_id))


def check_online_use(use_request: RetrievalRequest, user: User, now: date | None = None) -> None:
    """Only the requester, only an approved online request, only inside its window, and after the
    retiree's death only for the purposes that outlive him or her."""
    today = now or bureau_today()
    if use_request.requester_id != user.id:
        raise Forbidden("只有申请人本人可以查阅")
    if use_request.mode is not RequestMode.online_view:
        raise ArchiveError("request.mode", "该申请不是网上查阅", "mode", 403)
    if use_request.status is not RequestStatus.approved:
        raise ArchiveError(
            "request.not_approved", f"申请 {use_request.number} {use_request.status.label}，不能查阅", "status", 403
        )
    if not use_request.valid_from <= today <= use_request.valid_until:
        raise ArchiveError(
            "request.outside_window",
            f"不在有效期内（{use_request.valid_from} 至 {use_request.valid_until}）",
            "valid_until",
            403,
        )
    session = object_session(use_request)
    assert session is not None
    standing.check_served(session, user, use_request.bureau_id)  # a bureau that disabled the requester serves no page
    if session.scalar(select(Dossier.status).where(Dossier.id == use_request.dossier_id)) is DossierStatus.disposed:
        raise ArchiveError("dossier.disposed", "该档案已依销毁清册销毁，不能再查阅（晋政办通〔2020〕18号 第八条(七)）",
                           "dossier_id", 410)  # fmt: skip
    _refuse_after_death(_deceased_on(session, use_request.dossier_id), purposes()[use_request.purpose])


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
            standing.served_by(user, RetrievalRequest.bureau_id),
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
        .where(DigitalObject.dossier_id == dossier_id, DigitalObject.role == "use_copy", still_stored())
        .order_by(DigitalObject.version.desc())
    ).first()
    if obj is None:
        raise NotFound("该档案的数字副本（尚未数字化，请改为到馆查阅）", "dossier_id")
    return obj


_page_maps: dict[tuple, dict[int, int]] = {}


def _material_of_page(session: Session, use_request: RetrievalRequest, use_copy: DigitalObject, page: int) -> int:
    """The approved material a page belongs to. Page ranges change only with a new use copy (a catalogue
    change that moves them makes one: dossiers/catalogue.record) and scope only with a decision, so the map
    is kept per (request, scope, use copy) instead of re-read for every page."""
    key = (use_request.id, tuple(use_request.material_classes), use_copy.id)
    if key not in _page_maps:
        if len(_page_maps) > 10_000:
            _page_maps.clear()
        _page_maps[key] = {
            p: a.material.id
            for a in approved_materials(session, use_request)
            for p in range(a.first_page, a.last_page + 1)
        }
    material_id = _page_maps[key].get(page)
    if material_id is None:
        raise ArchiveError("page.not_approved", f"第 {page} 页不在批准查阅的材料范围内", "page", 403)
    return material_id


def _stamp_lines(use_request: RetrievalRequest, user: User, now: datetime) -> list[str]:
    return [
        f"{user.display_name}",
        user.organisation.name,
        f"申请 {use_request.number}",
        show_time(now),
    ]


def deliver_page(
    session: Session, store: ObjectStore, user: User, use_request: RetrievalRequest, page: int, client: str
) -> bytes:
    """One watermarked page; the log entry is committed before the bytes are returned."""
    check_online_use(use_request, user)
    obj = _use_copy(session, use_request.dossier_id)
    material_id = _material_of_page(session, use_request, obj, page)
    now = datetime.now(UTC)
    lines = _stamp_lines(use_request, user, now)
    render = lambda: watermark.delivered_page(  # noqa: E731
        lambda: b"".join(store.open(obj.storage_key)),
        obj.storage_key,
        page,
        use_request.id,
        now.strftime("%Y%m%d%H%M"),
        lines,
    )
    image = render()  # a page that cannot be rendered is neither delivered nor logged
    record_access(
        session,
        user,
        AccessAction.view_page,
        client,
        dossier_id=use_request.dossier_id,
        materials=[material_id],
        pages=[page],
        request_id=use_request.id,
    )
    return image


def deliver_certificate_page(
    session: Session,
    store: ObjectStore,
    user: User,
    use_request: RetrievalRequest,
    missing_id: int,
    page: int,
    client: str,
) -> bytes:
    """One watermarked page of the certificate for a material missing from a granted class; logged like a page."""
    check_online_use(use_request, user)
    entry = missing.find_granted(session, use_request.dossier_id, use_request.material_classes, missing_id)
    image = missing.certificate_page(store, entry, page, _stamp_lines(use_request, user, datetime.now(UTC)))
    record_access(
        session,
        user,
        AccessAction.view_certificate,
        client,
        dossier_id=use_request.dossier_id,
        pages=[page],
        request_id=use_request.id,
        detail=f"缺失材料证明 {entry.id}：{entry.description}",
    )
    return image


def _approved_pages_marked(
    session: Session, store: ObjectStore, use_request: RetrievalRequest, lines: list[str], stamp: str
) -> tuple[list[ApprovedMaterial], list[int], list[bytes]]:
    """Every approved page of the use copy with the watermark `lines` (cached under `stamp`)."""
    obj = _use_copy(session, use_request.dossier_id)
    approved = approved_materials(session, use_request)
    pages = approved_pages(approved)
    content = lambda: b"".join(store.open(obj.storage_key))  # noqa: E731
    images = [watermark.delivered_page(content, obj.storage_key, p, use_request.id, stamp, lines) for p in pages]
    return approved, pages, images


def _certificates_marked(
    session: Session, store: ObjectStore, use_request: RetrievalRequest, lines: list[str]
) -> list[tuple[MissingMaterial, list[bytes]]]:
    """The certificates of materials missing from the granted classes, each with its pages watermarked like
    the file's: a copy for a benefit case shows what the file lacks and who vouched for it (001 第九条(一))."""
    granted = missing.granted(session, use_request.dossier_id, use_request.material_classes)
    return [
        (e, [missing.certificate_page(store, e, n, lines) for n in range(1, (e.certificate.pages or 1) + 1)])
        for e in granted
    ]


def _certificates_named(certificates: list[tuple[MissingMaterial, list[bytes]]]) -> str:
    return "；".join(f"缺失材料证明 {e.id}：{e.description}" for e, _ in certificates)


def _pdf_of_pages(images: list[bytes], first: tuple[bytes, ...] | list[bytes] = ()) -> bytes:
    pages = [Image.open(io.BytesIO(b)) for b in [*first, *images]]
    buf = io.BytesIO()
    pages[0].save(buf, "PDF", save_all=True, append_images=pages[1:], resolution=150)
    return buf.getvalue()


def _hand_over_marked(
    session: Session,
    store: ObjectStore,
    user: User,
    use_request: RetrievalRequest,
    client: str,
    action: str,
    mark: str = "",
) -> tuple[list[ApprovedMaterial], list[tuple[str, bytes]]]:
    """Every approved page stamped with who and when (and `mark`), then the granted certificates' pages,
    logged as one `action` entry (the certificates named in its detail)."""
    now = datetime.now(UTC)
    lines = [*_stamp_lines(use_request, user, now), *([mark] if mark else [])]
    approved, pages, images = _approved_pages_marked(session, store, use_request, lines, now.strftime("%Y%m%d%H%M"))
    certificates = _certificates_marked(session, store, use_request, lines)
    if not images and not certificates:
        raise ArchiveError("request.nothing_to_deliver", "批准范围内没有可提供的数字化页面", "material_classes", 409)
    record_access(
        session,
        user,
        action,
        client,
        dossier_id=use_request.dossier_id,
        materials=[a.material.id for a in approved],
        pages=pages,
        request_id=use_request.id,
        detail=_certificates_named(certificates),
    )
    labelled = [(f"第 {p} 页", image) for p, image in zip(pages, images, strict=True)]
    labelled += [
        (f"缺失材料证明（{e.description}）第 {n} 页", image)
        for e, pages in certificates
        for n, image in enumerate(pages, start=1)
    ]
    return approved, labelled


def deliver_download(
    session: Session, store: ObjectStore, user: User, use_request: RetrievalRequest, client: str
) -> bytes:
    """All approved pages, watermarked, as one PDF to keep — only when the approval allows a download."""
    check_online_use(use_request, user)
    if not use_request.allow_download:
        raise ArchiveError("request.download_not_allowed", "审批未允许下载", "allow_download", 403)
    _, pages = _hand_over_marked(session, store, user, use_request, client, AccessAction.download)
    return _pdf_of_pages([image for _, image in pages])


@dataclass(frozen=True)
class PrintCopy:
    approved: list[ApprovedMaterial]
    pages: list[tuple[str, bytes]]  # (which page, as the person reads it; watermarked JPEG)


def print_copy(
    session: Session, store: ObjectStore, user: User, use_request: RetrievalRequest, client: str
) -> PrintCopy:
    """The approved pages for the print view, marked 打印件 with who and when. Printing is not a download:
    the pages go to a page made for the printer, never as a file (the approval may allow one without the
    other), and the whole print is one entry on the access log."""
    check_online_use(use_request, user)
    if not use_request.allow_print:
        raise ArchiveError("request.print_not_allowed", "审批未允许打印", "allow_print", 403)
    approved, pages = _hand_over_marked(
        session, store, user, use_request, client, AccessAction.print_page, mark="打印件"
    )
    return PrintCopy(approved, pages)


# --- certified copies and paper loans (archivist's desk) ----------------------------------------


def certified_copy(
    session: Session, store: ObjectStore, archivist: User, use_request: RetrievalRequest, annotation: str, client: str
) -> bytes:
    """A PDF with the bureau's certification page (annotation, seal, date) before the approved pages."""
    require(archivist, Action.serve_requests)
    if use_request.mode is not RequestMode.certified_copy or use_request.status is not RequestStatus.approved:
        raise ArchiveError("request.not_certified_copy", "只有已批准的复制申请可以出具复制件", "mode", 409)
    if not annotation.strip():
        raise ArchiveError("copy.annotation", "请填写档案员注记（如：经核对与原件一致）", "annotation")
    now = datetime.now(UTC)
    lines = [archivist.organisation.name, f"申请 {use_request.number}", "复制件", show_time(now, "%Y-%m-%d")]
    approved, pages, images = _approved_pages_marked(session, store, use_request, lines, now.strftime("%Y%m%d"))
    certificates = _certificates_marked(session, store, use_request, lines)
    copied = [*images, *(image for _, pages in certificates for image in pages)]
    cover = _certification_page(
        session, use_request, archivist, annotation.strip(), approved, certificates, now, len(copied)
    )
    pdf = _pdf_of_pages(certification.sealed_and_numbered(copied, archivist.organisation.name), first=cover)
    register_copy(
        session,
        archivist,
        use_request,
        annotation,
        client,
        materials=[a.material.id for a in approved],
        pages=pages,
        also=_certificates_named(certificates),
    )
    return pdf


def register_copy(
    session: Session,
    archivist: User,
    use_request: RetrievalRequest,
    annotation: str,
    client: str,
    *,
    materials: list[int],
    pages: list[int] | None = None,
    also: str = "",
) -> int:
    """A certified copy (复制件, 签注意见并加盖印章) registered: counted on its request and put on the access log
    with the materials copied and the archivist's annotation — the sealed PDF of a 复制 request and the copies
    made of the paper in the 阅档室 (access/reading.py) alike. Its number among the request's copies."""
    if not annotation.strip():
        raise ArchiveError("copy.annotation", "请填写档案员注记（如：经核对与原件一致）", "annotation")
    use_request.copies_made += 1
    use_request.handled_by_id = archivist.id
    session.flush()
    record_access(
        session,
        archivist,
        AccessAction.export,
        client,
        dossier_id=use_request.dossier_id,
        materials=materials,
        pages=pages,
        request_id=use_request.id,
        detail="；".join(filter(None, [f"复制件第 {use_request.copies_made} 份：{annotation.strip()}", also])),
        with_change=True,
    )
    return use_request.copies_made


def _certificate_lines(certificates: list[tuple[MissingMaterial, list[bytes]]]) -> list[str]:
    if not certificates:
        return []
    pages = sum(len(p) for _, p in certificates)
    return [
        f"缺失材料证明：共 {len(certificates)} 份，{pages} 页（附于复制材料之后）",
        *[f"　缺{e.description}（{e.issued_by}出具）" for e, _ in certificates[:6]],
    ]


def _certification_page(
    session: Session,
    use_request: RetrievalRequest,
    archivist: User,
    annotation: str,
    approved: list[ApprovedMaterial],
    certificates: list[tuple[MissingMaterial, list[bytes]]],
    now: datetime,
    copied_pages: int,
) -> list[bytes]:
    """The certification's text, drawn by access.certification: what was copied, for whom, by whom and when."""
    dossier = session.get(Dossier, use_request.dossier_id)
    assert dossier is not None
    body = [
        f"档号：{dossier.archival_code}",
        f"档案本人：{dossier.retiree.name}（{mask_citizen_id(dossier.retiree.citizen_id)}）",
        f"查阅申请：{use_request.number}　利用目的：{purposes()[use_request.purpose].label}",
        f"复制材料：共 {len(approved)} 份，{sum(a.last_page - a.first_page + 1 for a in approved)} 页",
        *[
            f"　{a.material.sequence} {a.material.title}（第 {page_ranges(range(a.first_page, a.last_page + 1))} 页）"
            for a in approved[:18]
        ],
        *_certificate_lines(certificates),
        f"复制件共 {copied_pages} 页（不含证明页），每页加盖本馆印章并编页码",
        "",
        f"档案员注记：{annotation}",
        f"经办档案员：{archivist.display_name}",
        f"出具日期：{in_bureau_time(now):%Y年%m月%d日}",
    ]
    return certification.pages(body, archivist.organisation.name)
