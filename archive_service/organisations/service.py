from sqlalchemy import select
from sqlalchemy.orm import Session

from archive_service.access.log import AccessAction, record_change
from archive_service.auth.models import User
from archive_service.auth.permissions import Action, require
from archive_service.errors import ArchiveError
from archive_service.organisations import jurisdiction
from archive_service.organisations.models import Organisation
from archive_service.organisations.schemas import OrganisationIn


def create_organisation(session: Session, data: OrganisationIn) -> Organisation:
    if session.scalar(select(Organisation.id).where(Organisation.credit_code == data.credit_code)):
        raise ArchiveError("credit_code.duplicate", f"统一社会信用代码 {data.credit_code} 已登记", "credit_code", 409)
    if data.fonds_code and session.scalar(select(Organisation.id).where(Organisation.fonds_code == data.fonds_code)):
        raise ArchiveError("fonds_code.duplicate", f"全宗号 {data.fonds_code} 已被使用", "fonds_code", 409)
    organisation = Organisation(**data.model_dump())
    session.add(organisation)
    session.flush()
    return organisation


def set_jurisdiction(session: Session, admin: User, rule: str, client: str) -> jurisdiction.JurisdictionRule:
    """The administrator picks which rule decides the files the bureau receives; the change, before and
    after, is on the access log for the auditor."""
    require(admin, Action.set_jurisdiction)
    try:
        chosen = jurisdiction.JurisdictionRule(rule)
    except ValueError:
        names = "、".join(r.name for r in jurisdiction.RULES.values())
        raise ArchiveError("jurisdiction_rule.unknown", f"接收范围规则应为以下之一：{names}", "rule") from None
    bureau = session.get(Organisation, admin.organisation_id, with_for_update=True)
    assert bureau is not None
    before = jurisdiction.rule_of(bureau)
    bureau.jurisdiction_rule = chosen.value
    describe = lambda r: f"{jurisdiction.RULES[r].name}（{jurisdiction.RULES[r].basis}）"  # noqa: E731
    what = f"{bureau.name} 接收范围："
    record_change(session, admin, AccessAction.policy_changed, client, what, describe(before), describe(chosen))
    return chosen


def set_accepts_lixiu(session: Session, admin: User, accepts: bool, client: str) -> bool:
    """Whether the bureau takes 离休 retirees' files (000 一: 具备条件的可以移交); the change is logged."""
    require(admin, Action.set_jurisdiction)
    bureau = session.get(Organisation, admin.organisation_id, with_for_update=True)
    assert bureau is not None
    shown = {True: "接收离休人员档案", False: "不接收离休人员档案"}
    before, bureau.accepts_lixiu = bureau.accepts_lixiu, accepts
    what = f"{bureau.name} 离休人员（{jurisdiction.LIXIU_BASIS}）："
    record_change(session, admin, AccessAction.policy_changed, client, what, shown[before], shown[accepts])
    return accepts
