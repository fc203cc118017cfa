"""Staff qualifications (大政办发〔2017〕49号 第十七条: 管理人员须按规定参加岗前培训、考核，持证上岗): the
certificates a member of staff holds, and the bureau's setting that only a holder of a valid one may have
the archivist role. The rule is checked wherever a role is given (auth/service.py)."""

from collections.abc import Sequence
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive_service.access.log import AccessAction, record_access, record_change
from archive_service.auth.models import Role, StaffCertificate, User
from archive_service.auth.permissions import Action, require
from archive_service.db import bureau_today
from archive_service.errors import ArchiveError
from archive_service.organisations.models import Organisation

BASIS = "大政办发〔2017〕49号 第十七条"
CERTIFIED_ROLES = frozenset({Role.archivist})  # who looks after the files themselves


def certificates(session: Session, user_id: int) -> Sequence[StaffCertificate]:
    return certificates_of(session, [user_id]).get(user_id, [])


def certificates_of(session: Session, user_ids: Sequence[int]) -> dict[int, list[StaffCertificate]]:
    """Each member's certificates, oldest first, in one query (a staff list shows them all)."""
    held: dict[int, list[StaffCertificate]] = {}
    query = select(StaffCertificate).where(StaffCertificate.user_id.in_(user_ids))
    for c in session.scalars(query.order_by(StaffCertificate.issued_on, StaffCertificate.id)):
        held.setdefault(c.user_id, []).append(c)
    return held


def staff_member(session: Session, admin: User, user_id: int) -> User:
    """An account of the administrator's own bureau; any other is answered as missing."""
    require(admin, Action.manage_users)
    target = session.get(User, user_id)
    if target is None or target.organisation_id != admin.organisation_id:
        raise ArchiveError("not_found", "未找到该账户", "user_id", 404)
    return target


def check_qualified(session: Session, user: User | None, organisation_id: int, role: Role) -> None:
    """Refuses the role when the bureau requires a certificate and the user (None: an account not yet made)
    holds no valid one today."""
    if role not in CERTIFIED_ROLES:
        return
    bureau = session.get(Organisation, organisation_id)
    if bureau is None or not bureau.requires_certified_staff:
        return
    today = bureau_today()
    if user is not None and any(c.valid_on(today) for c in certificates(session, user.id)):
        return
    who = user.display_name if user is not None else "新账户"
    raise ArchiveError(
        "role.uncertified",
        f"本馆要求档案管理人员持证上岗（{BASIS}）：{who}没有有效的培训证书；"
        f"请先以其他角色建立账户、登记证书，再授予{role.label}角色",
        "role",
        409,
    )


def check_still_qualified(session: Session, user: User) -> None:
    """004 第十七条 持证上岗 holds every day, not only the day the role was given: where the bureau requires it, an
    archivist whose certificates have all expired (or were never valid) since is refused when he next acts, until
    the security officer records a valid one. Read once per request."""
    if user.role not in CERTIFIED_ROLES or not user.organisation.requires_certified_staff:
        return
    held = certificates(session, user.id)
    today = bureau_today()
    if any(c.valid_on(today) for c in held):
        return
    ended = max((c.expires_on for c in held if c.expires_on is not None and c.expires_on < today), default=None)
    said = f"你的培训证书已于 {ended} 到期" if ended else "你没有有效的培训证书"
    raise ArchiveError(
        "role.certificate_expired",
        f"本馆要求档案管理人员持证上岗（{BASIS}）：{said}，暂不能以{user.role.label}身份办理；"
        "请将新的有效证书交安全管理员登记后再办理",
        "role",
        403,
    )


def record_certificate(
    session: Session,
    admin: User,
    user_id: int,
    client: str,
    *,
    title: str,
    number: str,
    issued_on: date,
    expires_on: date | None = None,
) -> StaffCertificate:
    """An administrator records a certificate of a member of the bureau's staff (on the access log)."""
    target = staff_member(session, admin, user_id)
    title, number = title.strip(), number.strip()
    if not 2 <= len(title) <= 100:
        raise ArchiveError("title.required", "请填写证书名称（2–100 字）", "title")
    if not 1 <= len(number) <= 60:
        raise ArchiveError("number.required", "请填写证书编号（1–60 字）", "number")
    if issued_on > bureau_today():
        raise ArchiveError("issued_on.future", f"发证日期 {issued_on} 晚于今天", "issued_on")
    if expires_on is not None and expires_on < issued_on:
        raise ArchiveError("expires_on.before_issued", "有效期截止日不能早于发证日期", "expires_on")
    made = StaffCertificate(
        user_id=target.id,
        title=title,
        number=number,
        issued_on=issued_on,
        expires_on=expires_on,
        recorded_by_id=admin.id,
    )
    session.add(made)
    session.flush()
    until = f"至 {expires_on}" if expires_on else "长期有效"
    record_access(
        session, admin, AccessAction.account_changed, client,
        detail=f"登记培训证书：{target.username}（{target.display_name}）{title} {number}，{issued_on} 起{until}",
        with_change=True,
    )  # fmt: skip
    return made


def set_requirement(session: Session, admin: User, required: bool, client: str) -> None:
    """Whether the bureau gives the archivist role only to certificate holders; the change is logged."""
    require(admin, Action.manage_users)
    bureau = session.get(Organisation, admin.organisation_id, with_for_update=True)
    assert bureau is not None
    shown = {True: "档案管理员须持证上岗", False: "不要求持证"}
    before, bureau.requires_certified_staff = bureau.requires_certified_staff, required
    what = f"{bureau.name} 人员资格（{BASIS}）："
    record_change(session, admin, AccessAction.policy_changed, client, what, shown[before], shown[required])
