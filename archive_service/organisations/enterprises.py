"""移交单位: the enterprises that hand files over, registered and corrected by the intake clerk and the archivist
at the desk (the first step of an intake: a batch is started for a registered enterprise). Every refusal names
the field and its rule; every registration and change, before → after, is on the access log."""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, fields

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive_service.access.log import AccessAction, record_access
from archive_service.auth.models import User
from archive_service.auth.permissions import Action, require
from archive_service.errors import ArchiveError, NotFound
from archive_service.organisations.models import LEVEL_LABELS, Organisation, OrganisationKind, OrganisationLevel
from archive_service.transfers.models import TransferBatch, TransferKind
from archive_service.values import ValueRuleError, check_credit_code, check_phone, check_region_code, check_visible

# Each particular as the page and the refusals name it.
LABELS = {
    "name": "单位名称",
    "credit_code": "统一社会信用代码",
    "region_code": "注册地行政区划代码",
    "level": "隶属层级",
    "contact_person": "联系人",
    "contact_phone": "联系电话",
    "managing_unit": "现管理单位",
    "financial": "金融企业",
}
# 001 第四条, 002 第三十六条: what the flag means (organisations/models.py).
FINANCIAL_BASIS = "001 第四条、002 第三十六条：金融企业退休人员管理工作，另有规定的依其规定执行"
LONGEST = {"name": 200, "contact_person": 50, "managing_unit": 200}


@dataclass(frozen=True)
class Particulars:
    """An enterprise's particulars as typed; `checked()` gives them back cleaned or refuses the first bad one."""

    name: str = ""
    credit_code: str = ""
    region_code: str = ""
    level: str = ""
    contact_person: str = ""
    contact_phone: str = ""
    managing_unit: str = ""  # only for an enterprise whose legal person no longer exists
    financial: bool = False  # 金融企业

    def checked(self) -> "Particulars":
        typed: dict = {f.name: check_text(f.name, getattr(self, f.name)) for f in fields(self) if f.name != "financial"}
        typed["financial"] = bool(self.financial)
        for required in ("name", "credit_code", "region_code", "level", "contact_person", "contact_phone"):
            if not typed[required]:
                raise ArchiveError(f"{required}.required", f"请填写{LABELS[required]}", required, 422)
        if len(typed["name"]) < 2:
            raise ArchiveError("name.too_short", "单位名称至少 2 个字（营业执照上的全称）", "name", 422)
        # The value rules' own words, led by the field where they do not already name it.
        for field, rule, lead in (
            ("credit_code", check_credit_code, ""),
            ("region_code", check_region_code, "注册地"),
            ("contact_phone", check_phone, "联系电话："),
        ):
            try:
                typed[field] = rule(typed[field])
            except ValueRuleError as e:
                raise ArchiveError(e.code, f"{lead}{e.message}", field, 422) from None
        if typed["level"] not in {level.value for level in OrganisationLevel}:
            names = "、".join(LEVEL_LABELS.values())
            raise ArchiveError("level.unknown", f"隶属层级应为以下之一：{names}", "level", 422)
        return Particulars(**typed)


def check_text(field: str, value: str) -> str:
    value = value.strip()
    try:
        check_visible(value)
    except ValueRuleError as e:
        raise ArchiveError(e.code, f"{LABELS[field]}{e.message}", field, 422) from None
    if len(value) > LONGEST.get(field, 30):
        raise ArchiveError(f"{field}.too_long", f"{LABELS[field]}不能超过 {LONGEST.get(field, 30)} 个字", field, 422)
    return value


def register_enterprise(session: Session, user: User, typed: Particulars, client: str) -> Organisation:
    require(user, Action.register_enterprises)
    data = typed.checked()
    _refuse_duplicate(session, data)
    enterprise = Organisation(kind=OrganisationKind.enterprise, **_columns(data))
    session.add(enterprise)
    session.flush()
    record_access(
        session, user, AccessAction.enterprise_registered, client,
        detail=f"登记移交单位 {enterprise.name}：" + _described(data), with_change=True,
    )  # fmt: skip
    return enterprise


def change_enterprise(
    session: Session, user: User, enterprise_id: int, typed: Particulars, client: str
) -> Organisation:
    """Corrected particulars (a new name, a contact who changed, the enterprise closed and its files now with
    a managing unit). Batches already confirmed keep the names their 交接书 printed."""
    require(user, Action.register_enterprises)
    enterprise = get_enterprise(session, enterprise_id, for_update=True)
    data = typed.checked()
    _refuse_duplicate(session, data, enterprise.id)
    before = _particulars_of(enterprise)
    changes = [
        f"{LABELS[f]} {_shown(f, getattr(before, f))} → {_shown(f, getattr(data, f))}"
        for f in LABELS
        if getattr(before, f) != getattr(data, f)
    ]
    if not changes:
        return enterprise
    for column, value in _columns(data).items():
        setattr(enterprise, column, value)
    record_access(
        session, user, AccessAction.enterprise_changed, client,
        detail=f"变更移交单位 {before.name}：" + "；".join(changes), with_change=True,
    )  # fmt: skip
    return enterprise


def get_enterprise(session: Session, enterprise_id: int, for_update: bool = False) -> Organisation:
    enterprise = session.get(Organisation, enterprise_id, with_for_update=for_update)
    if enterprise is None or enterprise.kind is not OrganisationKind.enterprise:
        raise NotFound("该移交单位", "enterprise_id")
    return enterprise


@dataclass(frozen=True)
class Listed:
    enterprise: Organisation
    batches: list[TransferBatch]  # its intake batches to the user's bureau, newest first


def list_enterprises(session: Session, user: User) -> list[Listed]:
    """Every registered enterprise with the intake batches it handed to the user's bureau. Enterprises are
    registry facts, shared by the installation's bureaus; batches are each bureau's own."""
    require(user, Action.register_enterprises)
    enterprises = session.scalars(
        select(Organisation).where(Organisation.kind == OrganisationKind.enterprise).order_by(Organisation.name)
    ).all()
    batches: dict[int, list[TransferBatch]] = defaultdict(list)
    for batch in _intake_batches(session, user):
        batches[batch.from_org_id].append(batch)
    return [Listed(e, batches.get(e.id, [])) for e in enterprises]


def _intake_batches(session: Session, user: User) -> Sequence[TransferBatch]:
    return session.scalars(
        select(TransferBatch)
        .where(TransferBatch.kind == TransferKind.intake, TransferBatch.to_org_id == user.organisation_id)
        .order_by(TransferBatch.id.desc())
    ).all()


def _refuse_duplicate(session: Session, data: Particulars, own_id: int | None = None) -> None:
    holder = session.scalar(
        select(Organisation).where(Organisation.credit_code == data.credit_code, Organisation.id != (own_id or 0))
    )
    if holder is not None:
        raise ArchiveError(
            "credit_code.duplicate",
            f"统一社会信用代码 {data.credit_code} 已登记为“{holder.name}”，同一代码只能登记一个单位",
            "credit_code",
            409,
        )


def _columns(data: Particulars) -> dict[str, object]:
    columns: dict[str, object] = {f: getattr(data, f) for f in LABELS}
    columns["level"] = OrganisationLevel(data.level)
    return columns


def _particulars_of(enterprise: Organisation) -> Particulars:
    typed = {f: str(getattr(enterprise, f) or "") for f in LABELS if f != "financial"}
    return Particulars(**typed, financial=enterprise.financial)


def _shown(field: str, value: str | bool) -> str:
    if field == "financial":
        return "是" if value else "否"
    if field == "level" and value:
        return LEVEL_LABELS[OrganisationLevel(str(value))]
    return str(value) or "（空）"


def _described(data: Particulars) -> str:
    return "；".join(f"{LABELS[f]} {_shown(f, getattr(data, f))}" for f in LABELS if getattr(data, f))
