"""The access register (查阅登记): reading the hash-chained access log by filter, usage statistics, and
the register as .xlsx — itself an export on the log."""

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from archive_service.access.log import AccessAction, record_access
from archive_service.access.models import (
    AccessLogEntry,
    ReadingSession,
    RequestMode,
    RequestStatus,
    RetrievalRequest,
)
from archive_service.access.service import purposes
from archive_service.auth.models import Role, User
from archive_service.auth.permissions import Action, require
from archive_service.db import bureau_midnight, show_time
from archive_service.dossiers.class_schemes import TOP_CLASS_NAMES
from archive_service.dossiers.models import Dossier, Material
from archive_service.dossiers.service import catalogue_by_top_class
from archive_service.workbooks import fit_columns, workbook_bytes


@dataclass
class LogFilter:
    """What the auditor filters the log by, on the page and in its .xlsx alike. A filter value longer than
    any stored code, name or action can match nothing, so it is cut to that length here, for both."""

    archival_code: str = ""
    username: str = ""
    action: str = ""
    since: date | None = None
    until: date | None = None
    page: int = 1

    def __post_init__(self) -> None:
        self.archival_code = self.archival_code[:64]
        self.username = self.username[:64]
        self.action = self.action[:30]
        self.page = max(1, self.page)


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
            # The system's own events (backups, restores, commands on the server) and the logins of the
            # agencies' requesters, who read every bureau's files: every bureau's auditor sees them.
            | (AccessLogEntry.organisation_id.is_(None) & AccessLogEntry.dossier_id.is_(None))
            | ((User.role == Role.requester) & AccessLogEntry.action.in_(ACCOUNT_EVENTS))
        )
    )
    if f.archival_code:
        query = query.where(Dossier.archival_code == f.archival_code.strip().upper())
    if f.username:
        query = query.where(User.username == f.username.strip())
    if f.action:
        query = query.where(AccessLogEntry.action == f.action)
    if f.since:
        query = query.where(AccessLogEntry.at >= bureau_midnight(f.since))
    if f.until:
        query = query.where(AccessLogEntry.at < bureau_midnight(f.until + timedelta(days=1)))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(AccessLogEntry.seq.desc()).limit(LOG_PAGE).offset((f.page - 1) * LOG_PAGE))
    return total, list(rows)


def usage_statistics(session: Session, reader: User) -> dict[str, list]:
    """Requests per requesting organisation and per purpose, for the bureau's files."""
    require(reader, Action.read_audit_log)
    from archive_service.organisations.models import Organisation

    # Requests made to the bureau, including those for files it has since sent on (转递).
    base = select(RetrievalRequest).where(RetrievalRequest.bureau_id == reader.organisation_id).subquery()
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
        "by_mode": uses_by_mode(session, reader.organisation_id),
    }


def uses_by_mode(session: Session, bureau_id: int) -> list[tuple[str, int, str]]:
    """On-site uses beside online ones (晋宁 第八条(七) 查阅利用): per mode, the requests approved and what was
    actually done — pages viewed online, readings held in the 阅档室 (阅档登记), copies made, originals lent."""
    served = (RequestStatus.approved, RequestStatus.closed)
    mine = select(RetrievalRequest.id).where(RetrievalRequest.bureau_id == bureau_id)
    approved = dict(
        session.execute(
            select(RetrievalRequest.mode, func.count())
            .where(RetrievalRequest.bureau_id == bureau_id, RetrievalRequest.status.in_(served))
            .group_by(RetrievalRequest.mode)
        ).all()
    )
    pages_viewed = session.scalar(
        select(func.count())
        .select_from(AccessLogEntry)
        .where(AccessLogEntry.action == AccessAction.view_page, AccessLogEntry.request_id.in_(mine))
    )
    readings = session.execute(
        select(func.count(), func.count(ReadingSession.ended_at)).where(ReadingSession.bureau_id == bureau_id)
    ).one()
    copies = session.scalar(
        select(func.coalesce(func.sum(RetrievalRequest.copies_made), 0)).where(RetrievalRequest.bureau_id == bureau_id)
    )
    lent = session.scalar(
        select(func.count()).where(RetrievalRequest.bureau_id == bureau_id, RetrievalRequest.loan_out_at.is_not(None))
    )
    done = {
        RequestMode.online_view: f"查看页面 {pages_viewed or 0} 页次",
        RequestMode.on_site: f"阅档登记 {readings[0]} 次（已结束 {readings[1]} 次）",
        RequestMode.certified_copy: f"出具复制件共 {copies or 0} 份（含到馆查阅现场复制）",
        RequestMode.paper_loan: f"借出原件 {lent or 0} 次",
    }
    return [(mode.label, approved.get(mode, 0), done[mode]) for mode in RequestMode]


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
    fit_columns(ws)
    modes = wb.create_sheet("按利用方式")  # on-site uses beside online ones, for the bureau's requests
    modes.append(["利用方式", "批准的申请", "利用情况"])
    for row in uses_by_mode(session, reader.organisation_id):
        modes.append(list(row))
    fit_columns(modes)
    data = workbook_bytes(wb)
    record_access(
        session,
        reader,
        AccessAction.export,
        client,
        detail=f"导出利用登记 {f.archival_code or '全部档案'} {f.since or ''}–{f.until or ''}",
    )
    return data


def _register_row(session: Session, e: AccessLogEntry) -> list[Any]:
    user = session.get(User, e.user_id) if e.user_id else None
    dossier = session.get(Dossier, e.dossier_id) if e.dossier_id else None
    use_request = session.get(RetrievalRequest, e.request_id) if e.request_id else None
    return [
        e.seq,
        show_time(e.at, "%Y-%m-%d %H:%M:%S"),
        user.display_name if user else "系统",
        Role(e.role).label if e.role in Role.__members__ else "系统",
        user.organisation.name if user else "",
        e.client_address,
        ACTION_LABELS.get(e.action, e.action),
        dossier.archival_code if dossier else "",
        _materials_text(session, e, dossier),
        ",".join(map(str, e.pages or [])),
        use_request.number if use_request else "",
        e.detail,
    ]


# What an entry's `materials` holds depends on its action: a delivery logs the catalogue entries it served
# (material ids); an approval or rejection logs the request's scope, the top classes 1…10 it grants.
CLASS_SCOPED_ACTIONS = frozenset({AccessAction.approve, AccessAction.reject})


def _materials_text(session: Session, e: AccessLogEntry, dossier: Dossier | None) -> str:
    """The materials of an entry as the file's own catalogue names them."""
    if not e.materials or dossier is None:
        return ""
    if e.action in CLASS_SCOPED_ACTIONS:  # each class with the file's entries in it
        by_class = {n: materials for n, _, materials in catalogue_by_top_class(session, dossier)}
        return "；".join(
            f"第{TOP_CLASS_NAMES.get(n, n)}类："
            + ("、".join(f"{m.sequence} {m.title}" for m in by_class.get(n, [])) or "目录中无此类材料")
            for n in e.materials
        )
    served = (session.get(Material, i) for i in e.materials)
    return "；".join(f"{m.sequence} {m.title}" for m in served if m is not None and m.dossier_id == dossier.id)


ACCOUNT_EVENTS = (
    AccessAction.login,
    AccessAction.login_failed,
    AccessAction.logout,
    AccessAction.session_ended,
    AccessAction.password_changed,
    AccessAction.two_factor_enrolled,
    AccessAction.recovery_code_used,
)
ACTION_LABELS = {
    AccessAction.view_copy: "查看数字副本",
    AccessAction.view_page: "网上查阅",
    AccessAction.proofread_crop: "校对查看页面局部",
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
    AccessAction.close_request: "办结",
    AccessAction.reading_opened: "到馆查阅开始",
    AccessAction.reading_id_refused: "到馆查阅证件不符",
    AccessAction.reading_produced: "到馆查阅提供材料",
    AccessAction.reading_ended: "到馆查阅结束",
    AccessAction.account_created: "创建账户",
    AccessAction.account_changed: "变更账户",
    AccessAction.policy_changed: "变更本馆政策",
    AccessAction.holdings_import: "存量档案导入",
    AccessAction.citizen_id_completed: "补录公民身份号码",
    AccessAction.enterprise_registered: "登记移交单位",
    AccessAction.enterprise_changed: "变更移交单位",
    AccessAction.misfiled_page: "核对疑似他人材料",
    AccessAction.unit_registered: "登记街道、社区或受托保管单位",
    AccessAction.unit_changed: "变更街道、社区或受托保管单位",
    AccessAction.custody_moved: "馆外保管或收回入馆",
    AccessAction.secrecy_changed: "变更密级",
    AccessAction.login: "登录",
    AccessAction.login_failed: "登录失败",
    AccessAction.logout: "退出登录",
    AccessAction.session_ended: "会话结束",
    AccessAction.password_changed: "修改密码",
    AccessAction.password_reset: "重置密码",
    AccessAction.two_factor_enrolled: "绑定动态验证码",
    AccessAction.two_factor_reset: "重置动态验证码",
    AccessAction.recovery_code_used: "使用恢复码",
    AccessAction.backup: "备份",
    AccessAction.restore: "恢复",
    AccessAction.audit_verified: "校验日志链",
    AccessAction.disposal_drawn: "编制销毁清册",
    AccessAction.disposal_signed: "签批销毁清册",
    AccessAction.disposal_carried_out: "销毁档案",
    AccessAction.fee_paid: "登记移交费用缴纳",
}
