"""Capacity planning: the bureau's space and staffing policy (a preset with its clauses, or its own
figures), projected retirements per enterprise, and the forecast run with planning.py's pure rules."""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from archive_service.auth.models import User
from archive_service.auth.permissions import Action, require
from archive_service.db import bureau_today
from archive_service.dossiers.models import Dossier
from archive_service.errors import ArchiveError, NotFound
from archive_service.organisations.models import BureauUnit, Organisation, OrganisationKind, UnitKind
from archive_service.shelving import planning
from archive_service.shelving.layout import check_range, profiles
from archive_service.shelving.models import (
    RetirementProjection,
    Room,
    RoomKind,
    ShelfSlot,
    ShelvingUnit,
    SpacePolicy,
)
from archive_service.shelving.placement import SHELVED_STATUSES
from archive_service.transfers.models import ItemResult, TransferBatch, TransferItem, TransferStatus
from archive_service.workbooks import csv_rows, fit_columns, workbook_bytes

# ---- the bureau's policy ----------------------------------------------------------------------


def policy_for(session: Session, bureau_id: int) -> planning.Policy:
    row = session.get(SpacePolicy, bureau_id)
    if row is None:
        return planning.presets()["national"]
    if row.preset in planning.presets():
        return planning.presets()[row.preset]
    return planning.custom_policy(
        area_m2_per_10k_volumes=row.area_m2_per_10k_volumes,
        min_area_m2=row.min_area_m2,
        min_area_below_volumes=row.min_area_below_volumes,
        volumes_per_archivist=row.volumes_per_archivist,
        retirees_per_service_staff=row.retirees_per_service_staff,
        shelving_m_per_m2=row.shelving_m_per_m2,
        planning_years=row.planning_years,
        office_staff_minimum=row.office_staff_minimum,
        street_staff_minimum=row.street_staff_minimum,
        part_time_below_retirees=row.part_time_below_retirees,
    )


@dataclass(frozen=True)
class PolicyFigure:
    label: str  # what the page and every refusal call it
    kind: type  # int or Decimal
    low: Decimal
    high: Decimal


# A bureau's own figures (preset custom): typed on the planning page or sent to PUT /api/shelving/policy.
POLICY_FIGURES = {
    "area_m2_per_10k_volumes": PolicyFigure("每万卷库房面积（m²）", Decimal, Decimal(1), Decimal(1000)),
    "min_area_m2": PolicyFigure("最小库房面积（m²）", Decimal, Decimal(0), Decimal(10000)),
    "min_area_below_volumes": PolicyFigure("最小面积适用卷数", int, Decimal(0), Decimal(1000000)),
    "volumes_per_archivist": PolicyFigure("每名档案管理人员卷数", int, Decimal(100), Decimal(1000000)),
    "retirees_per_service_staff": PolicyFigure("每名服务人员退休人数", int, Decimal(10), Decimal(1000000)),
    "shelving_m_per_m2": PolicyFigure("每平方米排架延长米", Decimal, Decimal("0.5"), Decimal(50)),
    "planning_years": PolicyFigure("规划年限（年）", int, Decimal(1), Decimal(50)),
    # 002 第十一条's service staff by unit; left empty, 0: the bureau's policy sets none.
    "office_staff_minimum": PolicyFigure("区办最少服务人员（人）", int, Decimal(0), Decimal(100)),
    "street_staff_minimum": PolicyFigure("每个街道最少服务人员（人）", int, Decimal(0), Decimal(100)),
    "part_time_below_retirees": PolicyFigure("社区可兼任的接收人数上限（人）", int, Decimal(0), Decimal(100000)),
}
OPTIONAL_FIGURES = ("office_staff_minimum", "street_staff_minimum", "part_time_below_retirees")


def policy_from(preset: str, figures: dict[str, Decimal | int | None]) -> planning.Policy:
    """A named preset, or `custom` with every figure given."""
    if preset != planning.CUSTOM:
        if preset not in planning.presets():
            choices = [f"{p.name}（{key}）" for key, p in planning.presets().items()]
            names = "、".join([*choices, f"本馆自定（{planning.CUSTOM}）"])
            raise ArchiveError("preset.unknown", f"没有名为 {preset} 的政策，可选：{names}", "preset", 422)
        return planning.presets()[preset]
    missing = [name for name in POLICY_FIGURES if figures.get(name) is None and name not in OPTIONAL_FIGURES]
    if missing:
        named = "、".join(POLICY_FIGURES[name].label for name in missing)
        raise ArchiveError("policy.required", f"自定政策须填写全部数值，缺少：{named}", missing[0], 422)
    return planning.custom_policy(
        area_m2_per_10k_volumes=Decimal(figures["area_m2_per_10k_volumes"] or 0),
        min_area_m2=Decimal(figures["min_area_m2"] or 0),
        min_area_below_volumes=int(figures["min_area_below_volumes"] or 0),
        volumes_per_archivist=int(figures["volumes_per_archivist"] or 0),
        retirees_per_service_staff=int(figures["retirees_per_service_staff"] or 0),
        shelving_m_per_m2=Decimal(figures["shelving_m_per_m2"] or 0),
        planning_years=int(figures["planning_years"] or 0),
        office_staff_minimum=int(figures.get("office_staff_minimum") or 0),
        street_staff_minimum=int(figures.get("street_staff_minimum") or 0),
        part_time_below_retirees=int(figures.get("part_time_below_retirees") or 0),
    )


def set_policy(session: Session, user: User, policy: planning.Policy) -> planning.Policy:
    """Pick a preset or store the bureau's own figures (`planning.custom_policy`)."""
    require(user, Action.set_space_policy)
    for name, figure in POLICY_FIGURES.items():
        check_range(getattr(policy, name), figure.low, figure.high, name, figure.label)
    row = session.get(SpacePolicy, user.organisation_id) or SpacePolicy(organisation_id=user.organisation_id)
    row.preset = policy.preset
    for name in POLICY_FIGURES:
        setattr(row, name, getattr(policy, name))
    row.updated_by_id = user.id
    session.add(row)
    session.flush()
    return policy_for(session, user.organisation_id)


# ---- projected retirements --------------------------------------------------------------------


def projections(session: Session, user: User) -> Sequence[RetirementProjection]:
    require(user, Action.plan_capacity)
    return session.scalars(
        select(RetirementProjection)
        .where(RetirementProjection.bureau_id == user.organisation_id)
        .order_by(RetirementProjection.year, RetirementProjection.enterprise_id)
    ).all()


def _enterprise(session: Session, enterprise_id: int, field: str) -> Organisation:
    org = session.get(Organisation, enterprise_id)
    if org is None or org.kind is not OrganisationKind.enterprise:
        raise NotFound("该企业", field)
    return org


def set_projection(session: Session, user: User, enterprise_id: int, year: int, retirees: int) -> RetirementProjection:
    """Enter (or correct) how many of an enterprise's retirees are expected to hand over files in a year."""
    require(user, Action.plan_capacity)
    _enterprise(session, enterprise_id, "enterprise_id")
    check_range(year, 2000, 2100, "year", "年份")
    check_range(retirees, 0, 1000000, "retirees", "预计退休人数")
    row = session.scalar(
        select(RetirementProjection).where(
            RetirementProjection.bureau_id == user.organisation_id,
            RetirementProjection.enterprise_id == enterprise_id,
            RetirementProjection.year == year,
        )
    ) or RetirementProjection(bureau_id=user.organisation_id, enterprise_id=enterprise_id, year=year)
    row.retirees = retirees
    session.add(row)
    session.flush()
    return row


PROJECTION_HEADERS = ("统一社会信用代码", "年份", "预计退休人数")


def import_projections(session: Session, user: User, data: bytes) -> int:
    """A CSV of projected retirements (统一社会信用代码, 年份, 预计退休人数). Every bad row is reported at
    once with its row and column; nothing is saved unless every row is good."""
    require(user, Action.plan_capacity)
    rows = csv_rows(data, PROJECTION_HEADERS)
    by_code = {
        o.credit_code: o.id
        for o in session.scalars(select(Organisation).where(Organisation.kind == OrganisationKind.enterprise))
    }
    problems, good = [], []
    for line, row in rows:
        code = row["统一社会信用代码"].strip().upper()
        if code not in by_code:
            problems.append(f"第 {line} 行「统一社会信用代码」：{code or '空'} 不是已登记的企业")
        year, retirees = _int(row["年份"], 2000, 2100), _int(row["预计退休人数"], 0, 1000000)
        if year is None:
            problems.append(f"第 {line} 行「年份」：应为 2000–2100 的整数，实为 {row['年份']!r}")
        if retirees is None:
            problems.append(f"第 {line} 行「预计退休人数」：应为非负整数，实为 {row['预计退休人数']!r}")
        if code in by_code and year is not None and retirees is not None:
            good.append((by_code[code], year, retirees))
    if problems:
        raise ArchiveError("file.rows", "；".join(problems[:50]) + (" …" if len(problems) > 50 else ""), "file", 422)
    for enterprise_id, year, retirees in good:
        set_projection(session, user, enterprise_id, year, retirees)
    return len(good)


def _int(text: str, low: int, high: int) -> int | None:
    try:
        value = int(text.strip())
    except ValueError:
        return None
    return value if low <= value <= high else None


# ---- the forecast -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ForecastParams:
    years: int | None = None  # default: the policy's planning years
    start_year: int | None = None  # default: this year
    other_stock_volumes: int = 0
    supplement_growth_pct: Decimal = Decimal("0.5")
    thickness_mm: int | None = None  # default: the bureau's first volume profile, else 20 mm


def forecast_inputs(
    session: Session, user: User, params: ForecastParams
) -> tuple[planning.ForecastInputs, planning.Policy]:
    """Gather the forecast's inputs from the bureau's records: holdings, open batches, projections, rooms."""
    require(user, Action.plan_capacity)
    policy = policy_for(session, user.organisation_id)
    years = params.years if params.years is not None else policy.planning_years
    check_range(years, 1, 50, "years", "预测年数")
    check_range(params.other_stock_volumes, 0, 10000000, "other_stock_volumes", "未入系统的存量卷数")
    check_range(params.supplement_growth_pct, Decimal(0), Decimal(50), "supplement_growth_pct", "材料补充年增长率（%）")
    start = params.start_year or bureau_today().year
    check_range(start, 2000, 2100, "start_year", "起始年份")
    files, volumes = session.execute(
        select(func.count(Dossier.id), func.coalesce(func.sum(Dossier.volumes), 0)).where(
            Dossier.custodian_id == user.organisation_id, Dossier.status.in_(SHELVED_STATUSES)
        )
    ).one()
    incoming_files, incoming_volumes = session.execute(
        select(func.count(TransferItem.id), func.coalesce(func.sum(TransferItem.declared_volumes), 0))
        .join(TransferBatch)
        .where(
            TransferBatch.to_org_id == user.organisation_id,
            TransferBatch.status.not_in([TransferStatus.confirmed, TransferStatus.cancelled]),
            TransferItem.result == ItemResult.pending,
        )
    ).one()
    projected: dict[int, int] = defaultdict(int)
    for row in projections(session, user):
        projected[row.year] += row.retirees
    thickness = params.thickness_mm
    if thickness is None:
        first = next(iter(profiles(session, user)), None)
        thickness = first.thickness_mm if first else 20
    check_range(thickness, 5, 200, "thickness_mm", "卷盒厚度（mm）")
    per_file = Decimal(volumes) / files if files else Decimal(1)
    room_capacity = []
    totals = session.execute(
        select(
            Room.name,
            Room.usable_area_m2,
            func.coalesce(func.sum(ShelfSlot.capacity_volumes), 0),
            func.coalesce(func.sum(ShelfSlot.used_volumes), 0),
        )
        .outerjoin(ShelvingUnit, ShelvingUnit.room_id == Room.id)
        .outerjoin(ShelfSlot, ShelfSlot.unit_id == ShelvingUnit.id)
        .where(Room.organisation_id == user.organisation_id, Room.kind == RoomKind.store)
        .group_by(Room.id, Room.name, Room.usable_area_m2)
        .order_by(Room.id)
    )
    for name, area, shelved_capacity, used in totals:
        # A room without shelving yet: its capacity from the area and the shelving quota.
        capacity = int(shelved_capacity) or int(area * policy.shelving_m_per_m2 * 1000 / thickness)
        room_capacity.append(planning.RoomCapacity(name, capacity, int(used), area, not shelved_capacity))
    inputs = planning.ForecastInputs(
        start_year=start,
        years=years,
        files_held=files,
        volumes_held=int(volumes),
        other_stock_volumes=params.other_stock_volumes,
        incoming_files=incoming_files,
        incoming_volumes=int(incoming_volumes),
        projected_files=dict(projected),
        volumes_per_file=per_file.quantize(Decimal("0.01")),
        supplement_growth_pct=params.supplement_growth_pct,
        thickness_mm=thickness,
        rooms=tuple(room_capacity),
        units=service_units(session, user.organisation_id),
    )
    return inputs, policy


def service_units(session: Session, bureau_id: int) -> tuple[planning.ServiceUnit, ...]:
    """The bureau's streets, townships and communities with the retirees each receives (002 第十一条)."""
    rows = session.scalars(
        select(BureauUnit)
        .where(BureauUnit.bureau_id == bureau_id, BureauUnit.kind != UnitKind.custodian)
        .order_by(BureauUnit.kind, BureauUnit.name)
    )
    return tuple(planning.ServiceUnit(u.name, u.kind.value, u.retirees) for u in rows)


def staffing(session: Session, user: User) -> planning.Staffing:
    """The service staff to add, by unit, under the bureau's policy: the planning page's 服务人员配备 table."""
    require(user, Action.plan_capacity)
    files = session.scalar(
        select(func.count(Dossier.id)).where(
            Dossier.custodian_id == user.organisation_id, Dossier.status.in_(SHELVED_STATUSES)
        )
    )
    units = service_units(session, user.organisation_id)
    return planning.staffing(units, files or 0, policy_for(session, user.organisation_id))


def run_forecast(session: Session, user: User, params: ForecastParams) -> planning.Forecast:
    inputs, policy = forecast_inputs(session, user, params)
    return planning.forecast(inputs, policy)


def forecast_xlsx(result: planning.Forecast) -> bytes:
    """The forecast table with the basis of each column, as the planners' offices use it."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "库房容量预测"
    first = result.rows[0]
    sheet.append(
        [
            f"适用政策：{result.policy.name}",
            f"卷盒厚度 {result.inputs.thickness_mm} mm",
            f"现有架位容量 {result.capacity_volumes} 卷",
            f"库房使用面积 {result.store_area_m2} m²",
            f"接收人数：{result.intake_basis}",
        ]
    )
    sheet.append(
        [
            "年份",
            "当年接收（份）",
            "档案（份）",
            "案卷（卷）",
            "排架长度（延长米）",
            f"需库房面积（m²）依据：{first.area.basis}",
            f"按排架定额面积（m²）依据：{first.area_by_quota.basis}",
            f"需档案管理人员（人）依据：{first.archivists.basis}",
            f"需专职服务人员（人）依据：{first.service_staff.basis}",
            "剩余架位（卷）",
            "当年接收人数来源",
        ]
    )
    for r in result.rows:
        sheet.append(
            [
                r.year,
                r.intake_files,
                r.files,
                r.volumes,
                float(r.shelving_m),
                float(r.area.value),
                float(r.area_by_quota.value),
                r.archivists.value,
                r.service_staff.value,
                r.free_volumes,
                "推算" if r.intake_estimated else "录入",
            ]
        )
    sheet.append([])
    for room, year in result.room_full_year.items():
        sheet.append([f"{room} 满架年份", year or f"{result.rows[-1].year} 年前不会满"])
    fit_columns(sheet, header_row=2)  # row 1 states the policy and figures, a line of its own
    return workbook_bytes(book)
