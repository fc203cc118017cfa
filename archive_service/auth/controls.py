"""What a bureau's assessor (等级测评) asks to see: every level-3 control, the clause it answers, how the bureau set
it and its state now — two factors by role, 三员分立, password rules, timeouts, log retention and chain, encryption at
rest, national algorithms, the last check of the log's chain. One list for the page (安全控制), the command
(`archive security report`) and the .xlsx export (itself on the access log)."""

from dataclasses import dataclass

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from archive_service import protection
from archive_service.access.log import AccessAction
from archive_service.access.models import AccessLogEntry
from archive_service.auth import passwords
from archive_service.auth.models import THREE_OFFICERS, Role, SessionStage, SessionToken, User
from archive_service.auth.permissions import GRANTS, Action
from archive_service.auth.policy import HASH_ALGORITHMS, MIN_RETENTION_DAYS, bureau_policy, describe
from archive_service.config import get_settings
from archive_service.db import Base, show_time, utcnow
from archive_service.organisations.models import Organisation
from archive_service.workbooks import workbook_bytes

STANDARD = "GB/T 22239-2019"
# The encrypted fields by the names people know them by.
FIELD_NAMES = {
    ("retiree", "citizen_id"): "退休人员公民身份号码",
    ("transfer_item", "citizen_id"): "移交名册中的公民身份号码",
    ("retrieval_request", "id_document"): "查阅人身份证件号码",
    ("app_user", "totp_secret"): "动态验证码密钥",
    ("app_user", "totp_pending_secret"): "待绑定的动态验证码密钥",
}


@dataclass(frozen=True)
class Control:
    area: str  # 身份鉴别, 访问控制, 安全审计, 数据保密性 …
    clause: str
    name: str
    setting: str  # how the bureau set it
    state: str  # what holds now
    ok: bool


def controls(session: Session, bureau: Organisation) -> list[Control]:
    policy = bureau_policy(session, bureau.id)
    shown = describe(policy)
    staff = session.scalars(select(User).where(User.organisation_id == bureau.id, User.active.is_(True))).all()
    found: list[Control] = []

    # 身份鉴别: two factors per role.
    for role in Role:
        people = [u for u in staff if u.role is role]
        if role is Role.requester or (not people and role not in policy.two_factor_roles):
            continue
        enrolled = sum(1 for u in people if u.totp_secret)
        required = policy.needs_two_factor(role)
        found.append(
            Control(
                "身份鉴别", f"{STANDARD} 8.1.4.1 d)", f"双因素登录：{role.label}",
                "要求（密码 + 动态验证码 TOTP）" if required else "未要求",
                f"在用账户 {len(people)} 个，已绑定动态验证码 {enrolled} 个"
                + ("；未绑定者下次登录时须先绑定" if required and enrolled < len(people) else ""),
                required,
            )
        )  # fmt: skip
    requesters_policy = policy.needs_two_factor(Role.requester)
    found.append(
        Control(
            "身份鉴别", f"{STANDARD} 8.1.4.1 d)", "双因素登录：查阅申请人（本馆所服务单位的人员）",
            "要求" if requesters_policy else "未要求", "查阅单位人员按各馆中最严的规定执行", requesters_policy,
        )
    )  # fmt: skip
    must, expired = 0, 0
    for u in staff:
        if u.must_change_password:
            must += 1
        elif passwords.expired(policy, u):
            expired += 1
    found.append(
        Control(
            "身份鉴别", f"{STANDARD} 8.1.4.1 a)", "口令复杂度与定期更换",
            f"至少 {shown['password_min_length']}，含 {shown['password_min_classes']}；有效期 "
            f"{shown['password_max_age_days']}；不得重复{shown['password_history']}；首次登录须修改：{shown['change_at_first_login']}",
            f"待修改密码的账户 {must} 个，已过有效期 {expired} 个（登录时强制修改）",
            policy.password_min_length >= 8 and policy.password_min_classes >= 3,
        )
    )  # fmt: skip
    delays = get_settings()
    found.append(
        Control(
            "身份鉴别", f"{STANDARD} 8.1.4.1 b)", "登录失败处理与连接超时",
            f"同一账户同一地址失败 {delays.login_max_failures} 次后延时；无操作 {shown['idle_minutes']} 退出；"
            f"单次登录最长 {shown['session_hours']}",
            f"当前在线会话 {_open_sessions(session, bureau)} 个；会话可由本人或安全管理员查看、结束",
            policy.idle_minutes <= 30,
        )
    )  # fmt: skip

    # 访问控制: 三员分立.
    counts = {role: sum(1 for u in staff if u.role is role) for role in THREE_OFFICERS}
    admin_grants = GRANTS[Role.administrator]
    separated = not ({Action.manage_users, Action.view_dossiers, Action.read_audit_log} & admin_grants) and not (
        {Action.manage_users, Action.manage_security} & GRANTS[Role.auditor]
    )
    found.append(
        Control(
            "访问控制", f"{STANDARD} 8.1.4.2 d)、8.1.10", "三员分立",
            "系统管理员：配置系统，不能管理账户、不能阅档、不能读审计日志；安全管理员：账户、角色与安全策略；"
            "审计员：只读审计日志。每个账户只有一个角色，任何人不能变更自己的角色",
            "、".join(f"{r.label} {counts[r]} 人" for r in THREE_OFFICERS),
            separated and all(counts.values()),
        )
    )  # fmt: skip

    # 安全审计: the log, its retention and its chain.
    entries, oldest = session.execute(select(func.count(), func.min(AccessLogEntry.at))).one()
    last_check = session.scalar(
        select(AccessLogEntry)
        .where(AccessLogEntry.action == AccessAction.audit_verified)
        .order_by(AccessLogEntry.seq.desc())
        .limit(1)
    )
    found.append(
        Control(
            "安全审计", f"{STANDARD} 8.1.4.3；网络安全法 第二十一条", "审计记录的内容与保存",
            "登录与失败、账户与角色变更、设置变更、导出、备份、恢复、会话结束均记入哈希链；"
            f"保存期 {shown['log_retention_days']}（不少于 {MIN_RETENTION_DAYS} 天）",
            f"日志 {entries} 条，最早 {show_time(oldest, '%Y-%m-%d') if oldest else '—'}；数据库触发器拒绝修改和删除",
            policy.log_retention_days is None or policy.log_retention_days >= MIN_RETENTION_DAYS,
        )
    )  # fmt: skip
    found.append(
        Control(
            "安全审计", f"{STANDARD} 8.1.4.3 c)", "审计记录的保护：最近一次哈希链校验",
            f"命令行校验或本页“校验日志链”；本馆链算法 {HASH_ALGORITHMS[policy.hash_algorithm]}",
            f"{show_time(last_check.at)}：{last_check.detail}" if last_check else "尚未校验",
            last_check is not None and "完好" in last_check.detail,
        )
    )  # fmt: skip

    # 数据保密性: personal information at rest.
    settings = get_settings()
    columns = protection.protected_columns(Base.metadata.sorted_tables)
    plain = _plain_values(session, columns)
    key = protection.current_key()
    found.append(
        Control(
            "数据保密性", f"{STANDARD} 8.1.4.8；个人信息保护法 第五十一条", "个人信息加密存储",
            f"{settings.data_cipher.upper()} 加密，{settings.data_digest.upper()} 带密钥摘要供按号码精确查找；"
            f"密钥编号 {key.key_id}，存放于{'环境变量' if settings.data_key else '服务器上的密钥文件'}（不在数据库中）",
            "加密字段：" + "、".join(FIELD_NAMES.get((c.table, c.column), f"{c.table}.{c.column}") for c in columns)
            + (f"；有 {plain} 个值未加密" if plain else "；全部已加密"),
            plain == 0,
        )
    )  # fmt: skip
    found.append(
        Control(
            "数据完整性", "GB/T 39786-2021（密评）", "国产密码算法",
            f"日志链与固定性校验：{HASH_ALGORITHMS[policy.hash_algorithm]}；字段加密："
            f"{'SM4-GCM' if settings.data_cipher == 'sm4-gcm' else 'AES-256-GCM'}；摘要："
            f"{'HMAC-SM3' if settings.data_digest == 'hmac-sm3' else 'HMAC-SHA-256'}",
            "SHA-256 与 SM3 的记录均可校验", True,
        )
    )  # fmt: skip
    return found


def _open_sessions(session: Session, bureau: Organisation) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(SessionToken)
            .join(User, SessionToken.user_id == User.id)
            .where(
                User.organisation_id == bureau.id,
                SessionToken.revoked.is_(False),
                SessionToken.stage == SessionStage.signed_in,
                SessionToken.expires_at > utcnow(),
            )
        )
        or 0
    )


def _plain_values(session: Session, columns: list[protection.ProtectedColumn]) -> int:
    """Values of protected columns not in the sealed form (the character after the digest is its dot)."""
    plain = 0
    for c in columns:
        plain += (
            session.scalar(
                text(
                    f"SELECT count(*) FROM {c.table} WHERE {c.column} IS NOT NULL AND substr({c.column}, 65, 1) <> '.'"
                )
            )
            or 0
        )
    return plain


def controls_xlsx(bureau: Organisation, found: list[Control]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    wb = Workbook()
    ws = wb.active
    ws.title = "安全控制"
    ws.append([f"{bureau.name} 安全控制状态（等级保护第三级）", "", "", "", "", ""])
    ws.append([f"导出时间：{show_time(utcnow(), '%Y-%m-%d %H:%M')}", "", "", "", "", ""])
    ws.append(["类别", "依据", "控制项", "本馆设置", "当前状态", "是否满足"])
    for c in found:
        ws.append([c.area, c.clause, c.name, c.setting, c.state, "满足" if c.ok else "需处理"])
    ws["A1"].font = Font(bold=True, size=13)
    for cell in ws[3]:
        cell.font = Font(bold=True)
    for column, width in zip("ABCDEF", (12, 26, 26, 60, 50, 10), strict=True):
        ws.column_dimensions[column].width = width
    for row in ws.iter_rows(min_row=4):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    return workbook_bytes(wb)
