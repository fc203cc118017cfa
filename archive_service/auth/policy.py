"""A bureau's security policy (等保 2.0 level 3): which roles sign in with a second factor, the password rules,
the idle and absolute session limits, how long the log is kept, and SHA-256 or SM3 for the log's chain and the
fixity sums. Set by the bureau's security officer (安全管理员), each change on the access log before → after.
A bureau that never set it has the presets; accounts of agencies and communities follow the strictest bureau."""

from dataclasses import dataclass, fields, replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive_service.auth.models import Role, SecurityPolicy, User
from archive_service.auth.permissions import Action, require
from archive_service.db import utcnow
from archive_service.errors import ArchiveError
from archive_service.organisations.models import Organisation, OrganisationKind

MIN_RETENTION_DAYS = 180  # 网络安全法 第二十一条: network logs kept no less than six months
HASH_ALGORITHMS = {"sha256": "SHA-256", "sm3": "SM3（GB/T 32905）"}


@dataclass(frozen=True)
class Policy:
    two_factor_roles: frozenset[Role] = frozenset()
    password_min_length: int = 8
    password_min_classes: int = 3  # of four: lower-case, upper-case, digits, symbols
    password_max_age_days: int = 90  # 0: never expires
    password_history: int = 5
    change_at_first_login: bool = True
    idle_minutes: int = 30
    session_hours: int = 8
    log_retention_days: int | None = None  # None: kept for good
    hash_algorithm: str = "sha256"

    def needs_two_factor(self, role: Role) -> bool:
        return role in self.two_factor_roles


PRESET = Policy()

# Bounds of each figure a security officer may set, with its name on the page.
BOUNDS: dict[str, tuple[int, int, str]] = {
    "password_min_length": (8, 64, "密码最短长度"),
    "password_min_classes": (2, 4, "密码须含字符种类数"),
    "password_max_age_days": (0, 365, "密码有效期（天，0 为不过期）"),
    "password_history": (0, 24, "不得重复最近密码个数"),
    "idle_minutes": (5, 240, "无操作超时（分钟）"),
    "session_hours": (1, 24, "单次登录最长时间（小时）"),
}
LABELS = {
    **{name: label for name, (_, _, label) in BOUNDS.items()},
    "two_factor_roles": "须双因素登录的角色",
    "change_at_first_login": "首次登录须修改密码",
    "log_retention_days": "日志保存期（天）",
    "hash_algorithm": "日志链与固定性校验算法",
}


def _from_row(row: SecurityPolicy | None) -> Policy:
    if row is None:
        return PRESET
    return Policy(
        two_factor_roles=frozenset(Role(r) for r in row.two_factor_roles or [] if r in Role.__members__),
        password_min_length=row.password_min_length,
        password_min_classes=row.password_min_classes,
        password_max_age_days=row.password_max_age_days,
        password_history=row.password_history,
        change_at_first_login=row.change_at_first_login,
        idle_minutes=row.idle_minutes,
        session_hours=row.session_hours,
        log_retention_days=row.log_retention_days,
        hash_algorithm=row.hash_algorithm,
    )


def bureau_policy(session: Session, organisation_id: int) -> Policy:
    return _from_row(session.get(SecurityPolicy, organisation_id))


def _strictest(policies: list[Policy]) -> Policy:
    if not policies:
        return PRESET

    def shortest(values: list[int]) -> int:  # 0 means "no limit" for expiry
        limited = [v for v in values if v]
        return min(limited) if limited else 0

    retention = [p.log_retention_days for p in policies]
    return Policy(
        two_factor_roles=frozenset().union(*(p.two_factor_roles for p in policies)),
        password_min_length=max(p.password_min_length for p in policies),
        password_min_classes=max(p.password_min_classes for p in policies),
        password_max_age_days=shortest([p.password_max_age_days for p in policies]),
        password_history=max(p.password_history for p in policies),
        change_at_first_login=any(p.change_at_first_login for p in policies),
        idle_minutes=min(p.idle_minutes for p in policies),
        session_hours=min(p.session_hours for p in policies),
        log_retention_days=None if None in retention else max(r for r in retention if r is not None),
        hash_algorithm="sm3" if any(p.hash_algorithm == "sm3" for p in policies) else "sha256",
    )


def policy_for_organisation(session: Session, organisation: Organisation) -> Policy:
    if organisation.kind is OrganisationKind.bureau:
        return bureau_policy(session, organisation.id)
    bureaus = session.scalars(select(Organisation.id).where(Organisation.kind == OrganisationKind.bureau)).all()
    return _strictest([bureau_policy(session, b) for b in bureaus])


def policy_for(session: Session, user: User) -> Policy:
    """The policy an account is held to: its bureau's, or for an agency's or community's people (who read the
    files of any bureau that grants them) the strictest of the installation's bureaus. Read once per request."""
    key = ("security_policy", user.organisation_id)
    if key not in session.info:
        session.info[key] = policy_for_organisation(session, user.organisation)
    return session.info[key]


def describe(policy: Policy) -> dict[str, str]:
    """Each setting as the page and the export show it."""
    roles = "、".join(r.label for r in Role if r in policy.two_factor_roles) or "无"
    return {
        "two_factor_roles": roles,
        "password_min_length": f"{policy.password_min_length} 位",
        "password_min_classes": f"{policy.password_min_classes} 种（小写、大写、数字、符号中）",
        "password_max_age_days": f"{policy.password_max_age_days} 天" if policy.password_max_age_days else "不过期",
        "password_history": f"最近 {policy.password_history} 个" if policy.password_history else "不限制",
        "change_at_first_login": "是" if policy.change_at_first_login else "否",
        "idle_minutes": f"{policy.idle_minutes} 分钟",
        "session_hours": f"{policy.session_hours} 小时",
        "log_retention_days": f"{policy.log_retention_days} 天" if policy.log_retention_days else "永久保存",
        "hash_algorithm": HASH_ALGORITHMS[policy.hash_algorithm],
    }


def set_policy(session: Session, officer: User, changes: dict[str, Any], client: str) -> Policy:
    """The security officer sets the bureau's policy; each figure is checked against its bounds, and the change
    is on the access log before → after (with the officer's name), which the auditor reads."""
    from archive_service.access.log import AccessAction, record_access

    require(officer, Action.manage_security)
    before = bureau_policy(session, officer.organisation_id)
    after = replace(before, **_checked(changes))
    row = session.get(SecurityPolicy, officer.organisation_id, with_for_update=True)
    if row is None:
        row = SecurityPolicy(organisation_id=officer.organisation_id)
        session.add(row)
    for f in fields(Policy):
        value = getattr(after, f.name)
        setattr(row, f.name, sorted(r.value for r in value) if f.name == "two_factor_roles" else value)
    row.updated_at = utcnow()
    row.updated_by_id = officer.id
    for key in [k for k in session.info if isinstance(k, tuple) and k[0] == "security_policy"]:
        del session.info[key]
    old, new = describe(before), describe(after)
    shown = "；".join(f"{LABELS[k]}：{old[k]} → {new[k]}" for k in old if old[k] != new[k])
    record_access(
        session, officer, AccessAction.policy_changed, client,
        detail=f"{officer.organisation.name} 安全策略：{shown or '未改动'}", with_change=True,
    )  # fmt: skip
    session.flush()
    return after


def _checked(changes: dict[str, Any]) -> dict[str, Any]:
    checked: dict[str, Any] = {}
    for name, value in changes.items():
        if value is None and name != "log_retention_days":
            continue
        if name in BOUNDS:
            low, high, label = BOUNDS[name]
            if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
                raise ArchiveError(f"{name}.range", f"{label}应在 {low}–{high} 之间", name, 422)
            if name == "password_max_age_days" and 0 < value < 30:
                raise ArchiveError(f"{name}.range", f"{label}应为 0（不过期）或 30–365", name, 422)
            checked[name] = value
        elif name == "two_factor_roles":
            try:
                checked[name] = frozenset(Role(r) for r in value)
            except ValueError:
                raise ArchiveError("two_factor_roles.unknown", "须双因素登录的角色中有未知角色", name, 422) from None
        elif name == "change_at_first_login":
            checked[name] = bool(value)
        elif name == "log_retention_days":
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int) or value < MIN_RETENTION_DAYS
            ):
                raise ArchiveError(
                    "log_retention_days.minimum",
                    f"日志保存期不得少于 {MIN_RETENTION_DAYS} 天（网络安全法 第二十一条：不少于六个月）"
                    "；留空为永久保存",
                    name,
                    422,
                )
            checked[name] = value
        elif name == "hash_algorithm":
            if value not in HASH_ALGORITHMS:
                raise ArchiveError("hash_algorithm.unknown", "校验算法应为 sha256 或 sm3", name, 422)
            checked[name] = value
        else:
            raise ArchiveError("policy.unknown_setting", f"未知的安全策略项 {name}", name, 422)
    return checked
