"""Space and staffing rules and the year-by-year capacity forecast. Pure functions: no database.

Every figure comes back as a `Figure` that names the policy clause it used, so pages, exports and
the API print the basis next to the number (DESIGN §1: jurisdictions differ, never a bare constant).
"""

import math
import tomllib
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, Decimal
from functools import cache
from pathlib import Path

PRESETS_FILE = Path(__file__).with_name("policies.toml")
CUSTOM = "custom"


@dataclass(frozen=True)
class Policy:
    preset: str
    name: str
    area_m2_per_10k_volumes: Decimal
    area_basis: str
    min_area_m2: Decimal
    min_area_below_volumes: int
    volumes_per_archivist: int
    staff_basis: str
    retirees_per_service_staff: int
    service_basis: str
    shelving_m_per_m2: Decimal
    shelving_basis: str
    planning_years: int
    years_basis: str
    # Where a policy sets them (晋宁 002 第十一条): the fewest service staff the district office and each street
    # add however few the retirees, and the retirees below which a community's colleague serves them part-time
    # (兼任). 0: the policy sets none.
    office_staff_minimum: int = 0
    street_staff_minimum: int = 0
    part_time_below_retirees: int = 0


@cache
def presets() -> dict[str, Policy]:
    raw = tomllib.loads(PRESETS_FILE.read_text(encoding="utf-8"))
    decimals = ("area_m2_per_10k_volumes", "min_area_m2", "shelving_m_per_m2")
    return {
        key: Policy(preset=key, **{k: Decimal(str(v)) if k in decimals else v for k, v in values.items()})  # type: ignore[arg-type]
        for key, values in raw.items()
    }


def _plain(figure: Decimal) -> str:
    """45.00 (as the database keeps it) → 45, 0.50 → 0.5, 60 → 60 (not 6E+1)."""
    return format(figure.normalize(), "f")


def custom_policy(
    *,
    area_m2_per_10k_volumes: Decimal,
    min_area_m2: Decimal,
    min_area_below_volumes: int,
    volumes_per_archivist: int,
    retirees_per_service_staff: int,
    shelving_m_per_m2: Decimal,
    planning_years: int,
    office_staff_minimum: int = 0,
    street_staff_minimum: int = 0,
    part_time_below_retirees: int = 0,
) -> Policy:
    """A bureau's own figures; each basis says so, with the figure."""
    service_basis = f"本馆自定：每 {retirees_per_service_staff} 名退休人员 1 名服务人员"
    if office_staff_minimum:
        service_basis += f"；区办不少于 {office_staff_minimum} 人"
    if street_staff_minimum:
        service_basis += f"；每个街道不少于 {street_staff_minimum} 人"
    if part_time_below_retirees:
        service_basis += f"；不足 {part_time_below_retirees} 人的社区可兼任"
    return Policy(
        preset=CUSTOM,
        name="本馆自定",
        area_m2_per_10k_volumes=area_m2_per_10k_volumes,
        area_basis=f"本馆自定：每万卷 {_plain(area_m2_per_10k_volumes)} m²",
        min_area_m2=min_area_m2,
        min_area_below_volumes=min_area_below_volumes,
        volumes_per_archivist=volumes_per_archivist,
        staff_basis=f"本馆自定：每 {volumes_per_archivist} 卷 1 人",
        retirees_per_service_staff=retirees_per_service_staff,
        service_basis=service_basis,
        shelving_m_per_m2=shelving_m_per_m2,
        shelving_basis=f"本馆自定：{_plain(shelving_m_per_m2)} 延长米/m²",
        planning_years=planning_years,
        years_basis=f"本馆自定：规划 {planning_years} 年",
        office_staff_minimum=office_staff_minimum,
        street_staff_minimum=street_staff_minimum,
        part_time_below_retirees=part_time_below_retirees,
    )


@dataclass(frozen=True)
class Figure:
    value: Decimal | int
    unit: str
    basis: str  # the policy clause the figure was computed under

    def __str__(self) -> str:
        return f"{self.value:,} {self.unit}（依据：{self.basis}）"


def _up(x: Decimal, places: str = "0.1") -> Decimal:
    return x.quantize(Decimal(places), rounding=ROUND_CEILING)


def storage_area(volumes: int, policy: Policy) -> Figure:
    """机关档案管理规定 第十五条: (holdings + yearly growth × years) × rate / 10,000 volumes; pass the
    volumes at the end of the horizon. Under the floor threshold the area is the fixed minimum."""
    if volumes < policy.min_area_below_volumes:
        return Figure(
            policy.min_area_m2,
            "m²",
            f"{policy.area_basis}；不足 {policy.min_area_below_volumes} 卷按 {policy.min_area_m2:g} m²",
        )
    return Figure(_up(Decimal(volumes) * policy.area_m2_per_10k_volumes / 10000), "m²", policy.area_basis)


def volumes_for_area(area_m2: Decimal, policy: Policy) -> int:
    """The holdings an area stands for under the policy (inverse of `storage_area`)."""
    return math.ceil(area_m2 * 10000 / policy.area_m2_per_10k_volumes)


def shelving_metres(volumes: int, thickness_mm: int) -> Decimal:
    """Running metres (延长米) of shelf the volumes stand on."""
    return _up(Decimal(volumes * thickness_mm) / 1000)


def area_by_shelving_quota(metres: Decimal, policy: Policy) -> Figure:
    """The floor area the shelving needs under the JGJ 25 quota — a check beside the policy area."""
    return Figure(_up(metres / policy.shelving_m_per_m2), "m²", policy.shelving_basis)


def archivists_needed(volumes: int, policy: Policy) -> Figure:
    return Figure(max(1, math.ceil(volumes / policy.volumes_per_archivist)) if volumes else 0, "人", policy.staff_basis)


def service_staff_needed(retirees: int, policy: Policy) -> Figure:
    """Service staff for retirees counted as one: one per `retirees_per_service_staff` begun. Where a bureau has
    recorded its streets and communities, `staffing` counts them unit by unit instead."""
    return Figure(
        math.ceil(retirees / policy.retirees_per_service_staff) if retirees else 0, "人", policy.service_basis
    )


OFFICE = "office"  # the district's 社会化管理服务办公室: a row of the staffing table, not a unit of the bureau


@dataclass(frozen=True)
class ServiceUnit:
    """A street, township or community and the retirees it receives itself (organisations.models.BureauUnit)."""

    name: str
    kind: str  # "street" | "township" | "community"
    retirees: int


@dataclass(frozen=True)
class UnitStaff:
    name: str
    kind: str  # a ServiceUnit's kind, or OFFICE
    retirees: int
    full_time: int  # staff to add
    part_time: int  # 1 where a colleague may serve the retirees beside their own work (兼任)
    basis: str  # which part of the clause gave the figure


@dataclass(frozen=True)
class Staffing:
    rows: tuple[UnitStaff, ...]
    basis: str
    by_unit: bool  # False: no streets or communities recorded — the retirees counted as one

    @property
    def full_time(self) -> int:
        return sum(r.full_time for r in self.rows)

    @property
    def part_time(self) -> int:
        return sum(r.part_time for r in self.rows)

    @property
    def figure(self) -> Figure:
        return Figure(self.full_time, "人", self.basis)


def unit_staff(unit: ServiceUnit, policy: Policy) -> UnitStaff:
    """晋政办通〔2020〕18号 第十一条, unit by unit: a receiving 乡镇（街道）or 社区 adds one per 1,500 retirees
    begun (500–1,500 → 1); a community under 500 may have a colleague serve them part-time; each street adds at
    least 2 however few it receives. The figures are the bureau's policy's (planning.Policy)."""
    n, rate = unit.retirees, policy.retirees_per_service_staff
    ratio = math.ceil(n / rate) if n else 0
    if unit.kind == "community" and 0 < n < policy.part_time_below_retirees:
        said = f"不足 {policy.part_time_below_retirees} 人，可由 1 名社区（村委会）工作人员兼任"
        return UnitStaff(unit.name, unit.kind, n, 0, 1, said)
    if unit.kind == "street" and policy.street_staff_minimum > ratio:
        said = f"街道增加配备不少于 {policy.street_staff_minimum} 人"
        return UnitStaff(unit.name, unit.kind, n, policy.street_staff_minimum, 0, said)
    if not n:
        return UnitStaff(unit.name, unit.kind, 0, 0, 0, "未直接接收退休人员")
    said = f"按接收人数 {rate}:1 配备" if n > rate else f"接收 {n} 人（不超过 {rate} 人）配 1 人"
    return UnitStaff(unit.name, unit.kind, n, ratio, 0, said)


def staffing(units: tuple[ServiceUnit, ...], retirees: int, policy: Policy) -> Staffing:
    """The service staff to add: the district office's minimum, then each recorded street, township and community
    (002 第十一条); with none recorded, the `retirees` counted as one."""
    rows: list[UnitStaff] = []
    if policy.office_staff_minimum:
        said = f"区社会化管理服务办公室增加配备不少于 {policy.office_staff_minimum} 人"
        rows.append(UnitStaff("区社会化管理服务办公室", OFFICE, 0, policy.office_staff_minimum, 0, said))
    if units:
        rows.extend(unit_staff(u, policy) for u in units)
        return Staffing(tuple(rows), f"{policy.service_basis}；按各街道、乡镇、社区登记的接收人数", True)
    whole = service_staff_needed(retirees, policy)
    rows.append(UnitStaff("全区（未登记街道、社区）", "whole", retirees, int(whole.value), 0, "按全区退休人数"))
    return Staffing(tuple(rows), f"{policy.service_basis}；未登记街道、社区，按全区在馆档案份数", False)


def layer_capacity(usable_width_mm: int, thickness_mm: int) -> int:
    """Volumes per layer face = ⌊usable width ÷ volume thickness⌋ (STANDARDS §5.3: 800 mm, 20 mm → 40)."""
    return usable_width_mm // thickness_mm


# ---- the forecast ----------------------------------------------------------------------------


@dataclass(frozen=True)
class RoomCapacity:
    name: str
    capacity_volumes: int
    used_volumes: int
    area_m2: Decimal
    estimated: bool  # no shelving defined yet: capacity from the area and the shelving quota


@dataclass(frozen=True)
class ForecastInputs:
    start_year: int
    years: int
    files_held: int  # retirees' files in custody now
    volumes_held: int
    other_stock_volumes: int = 0  # files kept but not in this system (e.g. streets' existing stock)
    incoming_files: int = 0  # open transfer batches, arriving in the first year
    incoming_volumes: int = 0
    projected_files: dict[int, int] = field(default_factory=dict)  # year → files expected from enterprises
    volumes_per_file: Decimal = Decimal(1)
    supplement_growth_pct: Decimal = Decimal(0)  # existing volumes grow by materials added after handover
    thickness_mm: int = 20
    rooms: tuple[RoomCapacity, ...] = ()
    # The bureau's streets, townships and communities with the retirees each receives: service staff by unit.
    units: tuple[ServiceUnit, ...] = ()


@dataclass(frozen=True)
class ForecastYear:
    year: int
    files: int
    volumes: int
    intake_files: int
    shelving_m: Decimal
    area: Figure
    area_by_quota: Figure
    archivists: Figure
    service_staff: Figure
    free_volumes: int  # shelf capacity left (negative: volumes without a place)
    intake_estimated: bool = False  # the year's intake continues the last projected years (see Forecast.intake_basis)


@dataclass(frozen=True)
class Forecast:
    policy: Policy
    inputs: ForecastInputs
    rows: list[ForecastYear]
    capacity_volumes: int
    store_area_m2: Decimal
    room_full_year: dict[str, int | None]  # room → the year it fills (None: not within the horizon)
    area_short_year: int | None  # first year the policy area exceeds the store rooms' area
    intake_basis: str = ""  # how years without projected retirements are counted, said wherever the forecast is

    @property
    def final(self) -> ForecastYear:
        return self.rows[-1]


def forecast(inputs: ForecastInputs, policy: Policy) -> Forecast:
    """Year by year: the files and volumes held at the end of each year, the shelving they take, the
    area and staff the policy asks for, and when each room fills (rooms fill in the order given)."""
    if inputs.years < 1:
        raise ValueError("years must be at least 1")
    files = inputs.files_held
    volumes = Decimal(inputs.volumes_held + inputs.other_stock_volumes)
    capacity = sum(r.capacity_volumes for r in inputs.rooms)
    store_area = sum((r.area_m2 for r in inputs.rooms), Decimal(0))
    rows: list[ForecastYear] = []
    projected, estimated_from, intake_basis = intake_by_year(inputs)
    for i in range(inputs.years):
        year = inputs.start_year + i
        intake = projected.get(year, 0)
        volumes += volumes * inputs.supplement_growth_pct / 100
        volumes += intake * inputs.volumes_per_file
        if i == 0:
            intake += inputs.incoming_files
            volumes += inputs.incoming_volumes
        files += intake
        whole = math.ceil(volumes)
        metres = shelving_metres(whole, inputs.thickness_mm)
        rows.append(
            ForecastYear(
                year=year,
                files=files,
                volumes=whole,
                intake_files=intake,
                shelving_m=metres,
                area=storage_area(whole, policy),
                area_by_quota=area_by_shelving_quota(metres, policy),
                archivists=archivists_needed(whole, policy),
                service_staff=staffing(inputs.units, files, policy).figure,
                free_volumes=capacity - whole,
                intake_estimated=estimated_from is not None and year >= estimated_from,
            )
        )
    full: dict[str, int | None] = {}
    filled_before = 0
    for room in inputs.rooms:
        filled_before += room.capacity_volumes
        full[room.name] = next((r.year for r in rows if r.volumes >= filled_before), None)
    short = next((r.year for r in rows if store_area and r.area.value > store_area), None)
    return Forecast(
        policy, inputs, rows, capacity, store_area, full, short if store_area else rows[0].year, intake_basis
    )


ESTIMATE_FROM_YEARS = 3  # the last projected years whose mean continues the intake beyond them


def intake_by_year(inputs: ForecastInputs) -> tuple[dict[int, int], int | None, str]:
    """Files expected each year of the horizon, the first year estimated (None: none is), and how the years are
    counted. Enterprises project their retirements a few years ahead, the plan runs ten (企业档案管理规定 第十六
    条): past the last projected year, retirements go on at the mean of the last three projected years — a plan
    that assumed no intake after that year would show rooms that never fill. The basis is said on the page."""
    projected = dict(inputs.projected_files)
    end = inputs.start_year + inputs.years - 1
    if not projected:
        return projected, None, "未录入企业预计退休人数：各年只计现有馆藏、在途移交和材料补充增长，未计新接收"
    last = max(projected)
    if last >= end:
        return projected, None, f"各年接收按录入的企业预计退休人数（至 {last} 年）"
    basis = sorted(projected)[-ESTIMATE_FROM_YEARS:]
    per_year = round(sum(projected[y] for y in basis) / len(basis))
    first = max(last + 1, inputs.start_year)
    for year in range(first, end + 1):
        projected[year] = per_year
    said = f"{basis[0]}–{basis[-1]}" if len(basis) > 1 else str(basis[0])
    return (
        projected,
        first,
        f"企业预计退休人数录入至 {last} 年；{first} 年起按 {said} 年的平均值每年 {per_year} 人推算（表中标“推算”）",
    )
