"""A bureau's units: its streets (街道), townships (乡镇) and communities (社区), each with the retirees it
receives itself — what service staff are counted from (晋政办通〔2020〕18号 第十一条) — and the units it entrusts
with files, each with its 档案管理资质 and the dates that qualification is valid between (大政办发〔2017〕49号
第十六条). Files a street or a custodian keeps for the bureau are in dossiers/held_elsewhere.py. The
administrator registers and corrects units; every registration and change, before → after, is on the access log."""

import re
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from archive_service.access.log import AccessAction, record_access, record_change
from archive_service.auth.models import User
from archive_service.auth.permissions import Action, require
from archive_service.db import bureau_today
from archive_service.dossiers.models import Dossier, DossierStatus
from archive_service.errors import ArchiveError, NotFound
from archive_service.organisations.models import UNIT_KIND_LABELS, BureauUnit, UnitKind
from archive_service.values import ValueRuleError, check_visible

STREETS_BASIS = "西人社发〔2020〕14号 七(二)：现存的退休人员人事档案暂由各街道管理"
CUSTODIAN_BASIS = "大政办发〔2017〕49号 第十六条：由退管服务机构管理或委托具有档案管理资质的单位管理"
STAFF_BASIS = "晋政办通〔2020〕18号 第十一条"

# Each particular as the page and the refusals name it.
LABELS = {
    "kind": "单位类别",
    "name": "单位名称",
    "parent_id": "所属街道（乡镇）",
    "retirees": "直接接收退休人数",
    "qualification": "档案管理资质（证书名称及编号）",
    "valid_from": "资质有效期起",
    "valid_until": "资质有效期至",
}
SERVING = (UnitKind.street, UnitKind.township, UnitKind.community)  # units whose retirees count for staffing


@dataclass(frozen=True)
class Particulars:
    """A unit's particulars as typed (the page's form and the API send the same strings)."""

    kind: str = ""
    name: str = ""
    parent_id: str = ""
    retirees: str = ""
    qualification: str = ""
    valid_from: str = ""
    valid_until: str = ""


@dataclass(frozen=True)
class Checked:
    kind: UnitKind
    name: str
    parent_id: int | None
    retirees: int
    qualification: str
    valid_from: date | None
    valid_until: date | None


def _text(field: str, value: str, longest: int) -> str:
    value = value.strip()
    try:
        check_visible(value)
    except ValueRuleError as e:
        raise ArchiveError(e.code, f"{LABELS[field]}{e.message}", field, 422) from None
    if len(value) > longest:
        raise ArchiveError(f"{field}.too_long", f"{LABELS[field]}不能超过 {longest} 个字", field, 422)
    return value


def _date(field: str, value: str) -> date | None:
    value = value.strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ArchiveError(f"{field}.invalid", f"{LABELS[field]}应为日期，如 2026-12-31", field, 422) from None


def check(session: Session, bureau_id: int, typed: Particulars, unit_id: int | None = None) -> Checked:
    """The particulars cleaned, or the first bad one refused by its field and rule."""
    try:
        kind = UnitKind(typed.kind.strip())
    except ValueError:
        names = "、".join(UNIT_KIND_LABELS.values())
        raise ArchiveError("kind.unknown", f"单位类别应为以下之一：{names}", "kind", 422) from None
    name = _text("name", typed.name, 100)
    if len(name) < 2:
        raise ArchiveError("name.too_short", "单位名称至少 2 个字", "name", 422)
    same = select(BureauUnit.id).where(BureauUnit.bureau_id == bureau_id, BureauUnit.name == name)
    if session.scalar(same.where(BureauUnit.id != unit_id) if unit_id else same):
        raise ArchiveError("name.duplicate", f"本馆已登记名为 {name} 的单位", "name", 409)
    parent_id = None
    if kind is UnitKind.community and typed.parent_id.strip():
        given = typed.parent_id.strip()
        parent = session.get(BureauUnit, int(given)) if re.fullmatch(r"[0-9]{1,9}", given) else None
        if (
            parent is None
            or parent.id == unit_id
            or parent.bureau_id != bureau_id
            or parent.kind not in (UnitKind.street, UnitKind.township)
        ):
            raise ArchiveError("parent_id.unknown", "所属街道（乡镇）应为本馆已登记的街道或乡镇", "parent_id", 422)
        parent_id = parent.id
    retirees = 0
    if kind in SERVING:
        text = typed.retirees.strip() or "0"
        if not re.fullmatch(r"[0-9]{1,8}", text) or int(text) > 10_000_000:
            raise ArchiveError(
                "retirees.invalid",
                f"直接接收退休人数应为 0 至 10000000 的整数（服务人员按此配备，{STAFF_BASIS}）",
                "retirees",
                422,
            )
        retirees = int(text)
    qualification = ""
    valid_from: date | None = None
    valid_until: date | None = None
    if kind is UnitKind.custodian:
        qualification = _text("qualification", typed.qualification, 200)
        valid_from, valid_until = _date("valid_from", typed.valid_from), _date("valid_until", typed.valid_until)
        required: dict[str, object] = {
            "qualification": qualification,
            "valid_from": valid_from,
            "valid_until": valid_until,
        }
        for field, value in required.items():
            if not value:
                raise ArchiveError(
                    f"{field}.required", f"受托保管单位须填写{LABELS[field]}（{CUSTODIAN_BASIS}）", field, 422
                )
        assert valid_from is not None and valid_until is not None
        if valid_until < valid_from:
            raise ArchiveError(
                "valid_until.before_start", f"资质有效期至 {valid_until} 早于有效期起 {valid_from}", "valid_until", 422
            )
    return Checked(kind, name, parent_id, retirees, qualification, valid_from, valid_until)


def _described(unit: BureauUnit) -> str:
    said = f"{unit.kind.label} {unit.name}"
    if unit.kind in SERVING:
        said += f"，直接接收退休人数 {unit.retirees}"
    if unit.kind is UnitKind.custodian:
        said += f"，资质 {unit.qualification}（{unit.valid_from} 至 {unit.valid_until}）"
    return said


def register_unit(session: Session, admin: User, typed: Particulars, client: str) -> BureauUnit:
    require(admin, Action.manage_organisations)
    data = check(session, admin.organisation_id, typed)
    unit = BureauUnit(bureau_id=admin.organisation_id, **{f.name: getattr(data, f.name) for f in fields(data)})
    session.add(unit)
    session.flush()
    record_access(
        session, admin, AccessAction.unit_registered, client, detail=f"登记{_described(unit)}", with_change=True
    )
    return unit


def change_unit(session: Session, admin: User, unit_id: int, typed: Particulars, client: str) -> BureauUnit:
    """Corrected particulars: a street's retiree count as it changes, a custodian's renewed qualification."""
    require(admin, Action.manage_organisations)
    unit = get_unit(session, admin, unit_id, for_update=True)
    data = check(session, admin.organisation_id, typed, unit.id)
    if data.kind is not unit.kind and session.scalar(select(func.count()).where(BureauUnit.parent_id == unit.id)):
        raise ArchiveError("kind.has_communities", f"{unit.name} 下已登记社区，不能改为其他类别", "kind", 409)
    before = _described(unit)
    for f in fields(data):
        setattr(unit, f.name, getattr(data, f.name))
    session.flush()
    after = _described(unit)
    if after != before:
        record_change(session, admin, AccessAction.unit_changed, client, "变更单位：", before, after)
    return unit


def get_unit(
    session: Session, user: User, unit_id: int, for_update: bool = False, field: str = "unit_id"
) -> BureauUnit:
    """A unit of the user's bureau; another bureau's is answered as missing."""
    unit = session.get(BureauUnit, unit_id, with_for_update=for_update)
    if unit is None or unit.bureau_id != user.organisation_id:
        raise NotFound("该单位", field)
    return unit


def list_units(session: Session, user: User) -> Sequence[BureauUnit]:
    """Streets, townships, then communities, then custodians, each by name."""
    require(user, Action.view_holdings)
    order = {kind: i for i, kind in enumerate(UnitKind)}
    rows = session.scalars(select(BureauUnit).where(BureauUnit.bureau_id == user.organisation_id)).all()
    return sorted(rows, key=lambda u: (order[u.kind], u.name))


def basis_of(unit: BureauUnit) -> str:
    """The clause under which the unit keeps the bureau's files."""
    return CUSTODIAN_BASIS if unit.kind is UnitKind.custodian else STREETS_BASIS


def valid_on(unit: BureauUnit, day: date) -> bool:
    """A custodian's qualification covers the day; other units need none."""
    if unit.kind is not UnitKind.custodian:
        return True
    return unit.valid_from is not None and unit.valid_until is not None and unit.valid_from <= day <= unit.valid_until


def check_may_keep_files(unit: BureauUnit, field: str = "unit_id") -> None:
    """A custodian whose qualification is not valid today is given no files (004 第十六条)."""
    today = bureau_today()
    if not valid_on(unit, today):
        when = f"{unit.valid_from} 至 {unit.valid_until}"
        raise ArchiveError(
            "unit.qualification_invalid",
            f"{unit.name} 的档案管理资质有效期为 {when}，今天（{today}）不在有效期内，不能委托其保管档案"
            f"（{CUSTODIAN_BASIS}）",
            field,
            409,
        )


def held_counts(session: Session, bureau_id: int) -> dict[int, int]:
    """Files each unit keeps for the bureau (状态 馆外保管)."""
    rows = session.execute(
        select(Dossier.held_by_id, func.count())
        .where(Dossier.custodian_id == bureau_id, Dossier.status == DossierStatus.held_elsewhere)
        .group_by(Dossier.held_by_id)
    )
    return {unit_id: n for unit_id, n in rows if unit_id is not None}
