"""Pydantic shapes of rooms, shelving, policy, projections, the forecast and climate readings."""

from datetime import datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from archive_service.shelving.models import RoomKind
from archive_service.shelving.planning import Policy


class RoomIn(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    kind: RoomKind = RoomKind.store
    usable_area_m2: Decimal = Field(gt=0, le=100000)
    temp_min_c: Decimal = Decimal(14)
    temp_max_c: Decimal = Decimal(24)
    rh_min_pct: Decimal = Decimal(45)
    rh_max_pct: Decimal = Decimal(60)


class ProfileIn(BaseModel):
    name: str = Field(min_length=1, max_length=60)
    thickness_mm: int
    height_mm: int = 310
    depth_mm: int = 225


class ProfileOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    name: str
    thickness_mm: int
    height_mm: int
    depth_mm: int


class UnitIn(BaseModel):
    code: str = Field(min_length=1, max_length=20)
    columns: int
    sections: int
    layers: int
    sides: Literal[1, 2] = 2
    usable_width_mm: int = 800
    profile_id: int | None = None
    capacity_per_layer: int | None = None


class CapacityIn(BaseModel):
    capacity_volumes: int


class PlaceIn(BaseModel):
    """Either the layer's id or the code scanned from its label."""

    slot_id: int | None = None
    slot_code: str | None = Field(default=None, max_length=40)


class AssignIn(BaseModel):
    dossier_ids: list[int] | None = Field(default=None, max_length=10000)  # none: every file waiting
    room_id: int | None = None  # only this store room's layers


class Placement(BaseModel):
    dossier_id: int
    archival_code: str
    slot_id: int
    slot_code: str
    slot_label: str


class LabelsIn(BaseModel):
    dossier_ids: list[int] = Field(default_factory=list, max_length=5000)
    slot_ids: list[int] = Field(default_factory=list, max_length=5000)
    start_at: int = 1  # the first free label of a partly used sheet (1–24)


class PolicyIn(BaseModel):
    """Pick a preset by name, or give every figure for the bureau's own policy."""

    preset: str = Field(max_length=20)
    area_m2_per_10k_volumes: Decimal | None = None
    min_area_m2: Decimal | None = None
    min_area_below_volumes: int | None = None
    volumes_per_archivist: int | None = None
    retirees_per_service_staff: int | None = None
    shelving_m_per_m2: Decimal | None = None
    planning_years: int | None = None
    # 002 第十一条's service staff by unit (optional: 0, none set)
    office_staff_minimum: int | None = None
    street_staff_minimum: int | None = None
    part_time_below_retirees: int | None = None


class UnitStaffOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    name: str
    kind: str
    retirees: int
    full_time: int
    part_time: int
    basis: str


class StaffingOut(BaseModel):
    """The service staff to add, by street, township and community, with the clause (002 第十一条)."""

    rows: list[UnitStaffOut]
    full_time: int
    part_time: int
    basis: str
    by_unit: bool


class ProjectionIn(BaseModel):
    enterprise_id: int
    year: int
    retirees: int


class ProjectionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    enterprise_id: int
    year: int
    retirees: int


class FigureOut(BaseModel):
    value: Decimal
    unit: str
    basis: str


class ForecastYearOut(BaseModel):
    year: int
    intake_files: int
    files: int
    volumes: int
    shelving_m: Decimal
    area: FigureOut
    area_by_quota: FigureOut
    archivists: FigureOut
    service_staff: FigureOut
    free_volumes: int
    intake_estimated: bool  # the year's intake is estimated from the last projected years (see intake_basis)


class ForecastOut(BaseModel):
    policy: Policy
    thickness_mm: int
    volumes_per_file: Decimal
    capacity_volumes: int
    store_area_m2: Decimal
    rows: list[ForecastYearOut]
    room_full_year: dict[str, int | None]
    area_short_year: int | None
    intake_basis: str  # how each year's intake is counted (projected, or estimated past the last projected year)


class ReadingIn(BaseModel):
    at: datetime
    temperature_c: Decimal
    humidity_pct: Decimal


class ReadingOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    room_id: int
    at: datetime
    temperature_c: Decimal
    humidity_pct: Decimal
    breaches: list[str] = []


class CountOut(BaseModel):
    imported: int
