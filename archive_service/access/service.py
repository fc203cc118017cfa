"""Using a file: requests, approval, fulfilment (online view, certified copy, paper loan) and reports.

The use rules (STANDARDS.md Part A, "Use of files") live here once:
  * a request names a configured purpose, the classes needed, a mode and a validity window;
  * nobody reads his or her own file or a close relative's;
  * classified files (any 密级 but 非密) are never served online;
  * an enterprise (移交单位) asks only for its own retirees' files and only for the purposes an enterprise
    verifies (待遇变更, 002 第九条(七));
  * paper loans are exceptional (the purpose must allow them) and last at most 14 days;
  * an approver of the holding bureau decides; he may narrow the classes, never widen them;
  * every page delivered, download, print, copy, approval and export is in the access log first.
"""

import tomllib
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import lru_cache
from pathlib import Path

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from archive_service.access.log import AccessAction, record_access
from archive_service.access.models import ReadingSession, RequestMode, RequestStatus, RetrievalRequest
from archive_service.auth import standing
from archive_service.auth.models import Role, User
from archive_service.auth.permissions import Action, require
from archive_service.config import get_settings
from archive_service.db import bureau_today
from archive_service.dossiers.models import (
    Dossier,
    DossierStatus,
    Retiree,
)
from archive_service.errors import ArchiveError, Forbidden, NotFound
from archive_service.numbering import next_in_series
from archive_service.organisations.models import Organisation, OrganisationKind
from archive_service.values import check_citizen_id

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
    enterprise: bool = False  # an enterprise may ask for it, for its own retirees (002 第九条(七))


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
            bool(v.get("enterprise", False)),
        )
        for key, v in data.items()
    }


def purposes() -> dict[str, Purpose]:
    return _load_purposes(get_settings().purposes_file or Path(__file__).with_name("purposes.toml"))


ENTERPRISE_BASIS = "晋宁 002 第九条（七）"


def purposes_for(user: User) -> dict[str, Purpose]:
    """The purposes the user may ask for: an enterprise's people only those an enterprise verifies."""
    if user.organisation.kind is OrganisationKind.enterprise:
        return {k: p for k, p in purposes().items() if p.enterprise}
    return purposes()


def _refuse_enterprise_beyond_own(requester: User, dossier: Dossier, purpose: Purpose) -> None:
    """002 第九条(七): the enterprise, when its retiree applies for a change of benefits, 负责调取其人事档案…调查核实
    申报事项后，以参保单位名义申报 — so it asks for its own retirees' files, for that purpose, and for nothing else."""
    enterprise = requester.organisation
    if enterprise.kind is not OrganisationKind.enterprise:
        return
    if not purpose.enterprise:
        allowed = "、".join(p.label for p in purposes_for(requester).values()) or "无"
        raise ArchiveError(
            "request.enterprise_purpose",
            f"移交单位只能为核实本单位退休人员的待遇变更申报申请查阅（{ENTERPRISE_BASIS}）；可选的利用目的：{allowed}",
            "purpose",
            403,
        )
    if dossier.retiree.enterprise_id != enterprise.id:
        raise ArchiveError(
            "request.enterprise_not_own",
            f"该档案本人不是{enterprise.name}的退休人员：移交单位只能申请查阅本单位退休人员的档案（{ENTERPRISE_BASIS}）",
            "dossier",
            403,
        )


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
    # A file a street keeps is the bureau's (003 七(二)): asked for like any other, its paper taken in before use.
    if dossier is None or dossier.status not in (
        DossierStatus.in_custody,
        DossierStatus.on_loan,
        DossierStatus.held_elsewhere,
    ):
        raise NotFound("该档号或身份证号对应的在馆档案", "dossier")
    return dossier


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
    standing.check_served(session, requester, dossier.custodian_id)
    _refuse_enterprise_beyond_own(requester, dossier, purpose)
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
    if dossier.retiree.classified and form.mode is RequestMode.online_view:
        raise ArchiveError(
            "request.classified_online",
            f"该档案密级为{dossier.retiree.secrecy.label}：涉密档案不提供网上查阅，请改为到馆查阅",
            "mode",
            403,
        )
    if form.mode is RequestMode.online_view:
        _refuse_after_death(dossier.retiree.deceased_date, purpose)
    year = today.year

    def issued_so_far() -> int:
        last = session.scalar(
            select(func.max(RetrievalRequest.number)).where(RetrievalRequest.number.startswith(f"CY-{year}-"))
        )
        return int(last.rsplit("-", 1)[1]) if last else 0

    use_request = RetrievalRequest(
        number=f"CY-{year}-{next_in_series(session, f'CY-{year}', issued_so_far):05d}",
        requester_id=requester.id,
        requester_org_id=requester.organisation_id,
        dossier_id=dossier.id,
        bureau_id=dossier.custodian_id,
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
    session.add(use_request)
    session.flush()
    return use_request


def _asked(user: User) -> Select[RetrievalRequest]:
    """Requesters' requests are their organisation's; bureau staff's the requests made to their bureau (for files
    it holds, or held until it sent them on)."""
    query = select(RetrievalRequest).join(Dossier, RetrievalRequest.dossier_id == Dossier.id)
    if user.role is Role.requester:
        return query.where(RetrievalRequest.requester_org_id == user.organisation_id)
    return query.where(RetrievalRequest.bureau_id == user.organisation_id)


def visible_requests(user: User) -> Select[RetrievalRequest]:
    """The requests a user's lists show: a requester of a shared agency only those made to bureaus that still
    serve it (auth/standing.py: a bureau that disabled it shows it none of its requests)."""
    if user.role is Role.requester:
        return _asked(user).where(standing.served_by(user, RetrievalRequest.bureau_id))
    return _asked(user)


def get_request(session: Session, user: User, request_id: int) -> RetrievalRequest:
    """One request; a requester's request to a bureau that no longer serves it is refused by that rule's name,
    not answered as missing."""
    use_request = session.scalar(_asked(user).where(RetrievalRequest.id == request_id))
    if use_request is None:
        raise NotFound("该查阅申请", "request_id")
    if user.role is Role.requester:
        standing.check_served(session, user, use_request.bureau_id)
    return use_request


def decide(
    session: Session,
    approver: User,
    use_request: RetrievalRequest,
    *,
    approve: bool,
    client: str,
    material_classes: list[int] | None = None,
    allow_download: bool = False,
    allow_print: bool = False,
    reason: str = "",
) -> RetrievalRequest:
    require(approver, Action.approve_requests)
    if use_request.status is not RequestStatus.submitted:
        raise ArchiveError(
            "request.already_decided",
            f"申请 {use_request.number} 已{use_request.status.label}，不能再审批",
            "status",
            409,
        )
    if use_request.requester_id == approver.id:
        raise Forbidden("不能审批本人提交的申请")
    if approve:
        if material_classes is not None:
            narrowed = sorted(set(material_classes))
            if not narrowed or not set(narrowed) <= set(use_request.material_classes):
                raise ArchiveError(
                    "decision.material_classes", "批准范围只能缩小、不能超出申请的材料类别", "material_classes"
                )
            use_request.material_classes = narrowed
        use_request.allow_download = allow_download and use_request.mode is RequestMode.online_view
        use_request.allow_print = allow_print and use_request.mode is RequestMode.online_view
        use_request.status = RequestStatus.approved
    else:
        if not reason.strip():
            raise ArchiveError("decision.reason", "驳回须写明理由", "reason")
        use_request.status = RequestStatus.rejected
    use_request.approver_id = approver.id
    use_request.decided_at = datetime.now(UTC)
    use_request.decision_reason = reason.strip()
    session.flush()
    record_access(
        session,
        approver,
        AccessAction.approve if approve else AccessAction.reject,
        client,
        dossier_id=use_request.dossier_id,
        materials=use_request.material_classes,
        request_id=use_request.id,
        detail=f"{use_request.number}（{requesting_organisation(session, use_request)}）"
        + (f"：{reason.strip()}" if reason.strip() else ""),
        with_change=True,
    )
    return use_request


def requesting_organisation(session: Session, use_request: RetrievalRequest) -> str:
    """申请单位 as the log and the register name it: an enterprise as the 移交单位 asking for its own retiree."""
    org = session.get(Organisation, use_request.requester_org_id)
    if org is None:
        return "申请单位不明"
    said = "移交单位" if org.kind is OrganisationKind.enterprise else "申请单位"
    return f"{said}：{org.name}"


def close_request(
    session: Session, archivist: User, use_request: RetrievalRequest, note: str, client: str
) -> RetrievalRequest:
    """办结: the archivist concludes an approved request once it has been served — the copy handed over, the
    reading done, the online window no longer needed — saying what was done; its pages can no longer be
    opened. A paper loan closes when its original comes back (loans.take_back). On the access log, which is
    the register's record of when a use ended."""
    require(archivist, Action.serve_requests)
    if use_request.status is not RequestStatus.approved:
        raise ArchiveError(
            "request.not_open", f"申请 {use_request.number} {use_request.status.label}，不能办结", "status", 409
        )
    if session.scalar(
        select(ReadingSession.id).where(ReadingSession.request_id == use_request.id, ReadingSession.ended_at.is_(None))
    ):
        raise ArchiveError(
            "request.reading_open", f"申请 {use_request.number} 的到馆查阅尚未结束：先结束阅档登记再办结", "status", 409
        )
    if use_request.loan_out_at is not None and use_request.loan_returned_at is None:
        raise ArchiveError(
            "request.loan_out", f"申请 {use_request.number} 借出的原件尚未归还：在借阅台归还核对后即办结", "status", 409
        )
    said = note.strip()
    if use_request.mode is RequestMode.certified_copy and not use_request.copies_made and not said:
        raise ArchiveError("close.note", "尚未出具复制件：办结须写明原因（如申请人撤回）", "note", 422)
    if len(said) > 500:
        raise ArchiveError("close.note", f"办结说明不超过 500 字，实为 {len(said)} 字", "note", 422)
    done = f"已出具复制件 {use_request.copies_made} 份" if use_request.copies_made else ""
    use_request.status = RequestStatus.closed
    use_request.handled_by_id = archivist.id
    session.flush()
    record_access(
        session,
        archivist,
        AccessAction.close_request,
        client,
        dossier_id=use_request.dossier_id,
        request_id=use_request.id,
        detail="；".join(filter(None, [f"{use_request.number} 办结", done, said])),
        with_change=True,
    )
    return use_request


def waiting_request_count(session: Session, organisation_id: int) -> int:
    """Requests for the bureau's files waiting for a decision (the dashboard's tile)."""
    return (
        session.scalar(
            select(func.count())
            .select_from(RetrievalRequest)
            .join(Dossier)
            .where(RetrievalRequest.bureau_id == organisation_id, RetrievalRequest.status == RequestStatus.submitted)
        )
        or 0
    )
