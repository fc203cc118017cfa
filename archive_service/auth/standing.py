"""A requester of an agency, a community or an enterprise — a body several bureaus serve — stands with each bureau
on its own (issue 40, High 5). Bureau X's security officer grants, disables or enables X's standing only: a requester X
disabled files no request with X and reads none of X's pages whatever another bureau does, and no other bureau
can stop X serving one. An account a bureau creates in such a body stands with that bureau alone, which is its
home: only the home resets its password and code or ends its sessions (another bureau could otherwise take it
over and read with X's grants). Every change is on the log under the bureau whose standing changed, which is the
log that bureau's auditor reads."""

from sqlalchemy import ColumnElement, Select, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from archive_service.access.log import AccessAction, record_change
from archive_service.auth.models import RequesterStanding, Role, User
from archive_service.auth.permissions import Action, require
from archive_service.auth.sessions import describe_account
from archive_service.db import utcnow
from archive_service.errors import ArchiveError
from archive_service.organisations.models import Organisation, OrganisationKind

# Bodies whose people ask several bureaus for files; a bureau gives their people requester accounts only. An
# enterprise (移交单位) asks for its own retirees' files to verify a benefit claim (002 第九条(七)); its retirees'
# files lie with the bureaus of their residences, so it stands with each of them on its own too.
SERVED_KINDS = (OrganisationKind.agency, OrganisationKind.community, OrganisationKind.enterprise)
GRANTED, DISABLED, NOT_GRANTED = "已授权", "已停用", "未授权"
# The rule as a refusal names it.
RULE = "共用机构的查阅账户由各档案馆分别授权，以该馆的授权为准"


def is_served(user: User) -> bool:
    """An account of a body several bureaus serve (not a bureau's own staff)."""
    return user.role is Role.requester and user.organisation.kind in SERVED_KINDS


def serving_bureaus(user_id: int) -> Select[int]:
    """The bureaus whose standing for the account is active (a subquery for the request queries)."""
    return select(RequesterStanding.bureau_id).where(
        RequesterStanding.user_id == user_id, RequesterStanding.active.is_(True)
    )


def served_by(user: User, bureau_id: InstrumentedAttribute[int]) -> ColumnElement[bool]:
    """Rows whose `bureau_id` serves the requester: its own organisation, or a bureau whose standing is active —
    `check_served`'s rule as a filter, for the lists a requester reads (its requests, its usable grants)."""
    return (bureau_id == user.organisation_id) | bureau_id.in_(serving_bureaus(user.id))


def check_served(session: Session, user: User, bureau_id: int) -> None:
    """Refuse a requester the bureau does not (or no longer) serve; a bureau's own accounts are its own."""
    if user.organisation_id == bureau_id:
        return
    row = session.get(RequesterStanding, (user.id, bureau_id))
    if row is not None and row.active:
        return
    bureau = session.get(Organisation, bureau_id)
    name = bureau.name if bureau else "该馆"
    said = "已停用你的查阅账户" if row is not None else "尚未为你的查阅账户授权"
    raise ArchiveError(
        "requester.not_served",
        f"{name}{said}，不能向该馆申请、打开向该馆提交的申请或查阅其档案（{RULE}）：请联系该馆",
        "bureau",
        403,
    )


def not_serving(session: Session, user: User) -> list[str]:
    """The bureaus that disabled this requester's standing, by name: its requests list says whose requests it
    no longer shows."""
    if not is_served(user):
        return []
    return list(
        session.scalars(
            select(Organisation.name)
            .join(RequesterStanding, RequesterStanding.bureau_id == Organisation.id)
            .where(RequesterStanding.user_id == user.id, RequesterStanding.active.is_(False))
            .order_by(Organisation.name)
        )
    )


def may_sign_in(session: Session, user: User) -> bool:
    """A requester of a served body signs in while at least one bureau serves them."""
    return not is_served(user) or session.scalar(serving_bureaus(user.id).limit(1)) is not None


def state(row: RequesterStanding | None) -> str:
    return NOT_GRANTED if row is None else GRANTED if row.active else DISABLED


def standings_at(session: Session, bureau_id: int, user_ids: list[int]) -> dict[int, RequesterStanding]:
    """The bureau's standing for each of these accounts (absent: not granted)."""
    rows = session.scalars(
        select(RequesterStanding).where(
            RequesterStanding.bureau_id == bureau_id, RequesterStanding.user_id.in_(user_ids)
        )
    )
    return {r.user_id: r for r in rows}


def home_bureaus(session: Session, user_ids: list[int]) -> dict[int, Organisation]:
    """Each account's home bureau (the one that created it), where it has one."""
    rows = session.execute(
        select(RequesterStanding.user_id, Organisation)
        .join(Organisation, Organisation.id == RequesterStanding.bureau_id)
        .where(RequesterStanding.user_id.in_(user_ids), RequesterStanding.home.is_(True))
    )
    return {user_id: bureau for user_id, bureau in rows}


def is_home(session: Session, user: User, bureau_id: int) -> bool:
    row = session.get(RequesterStanding, (user.id, bureau_id))
    return row is not None and row.home


def created_here(session: Session, officer: User, made: User) -> None:
    """An account the officer's bureau created in a served body: served by that bureau, which is its home."""
    session.add(RequesterStanding(user_id=made.id, bureau_id=officer.organisation_id, active=True, home=True,
                                  changed_by_id=officer.id))  # fmt: skip
    session.flush()


def set_standing(session: Session, officer: User, target: User, active: bool, client: str) -> RequesterStanding:
    """Grant (or enable again) or disable the officer's own bureau's standing for a served requester; logged
    before → after under that bureau."""
    require(officer, Action.manage_users)
    if not is_served(target):
        raise ArchiveError("not_found", "未找到该账户", "user_id", 404)
    row = session.get(RequesterStanding, (target.id, officer.organisation_id))
    before = state(row)
    if row is None:
        row = RequesterStanding(user_id=target.id, bureau_id=officer.organisation_id, home=False, active=active)
        session.add(row)
    row.active = active
    row.changed_at = utcnow()
    row.changed_by_id = officer.id
    session.flush()
    what = f"{describe_account(target)}：本馆（{officer.organisation.name}）查阅授权 "
    record_change(session, officer, AccessAction.account_changed, client, what, before, state(row))
    return row
