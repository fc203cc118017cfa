"""Store rooms, compact shelving down to the layer (the shelf slot), volume profiles, the bureau's
space and staffing policy, projected retirements and the store-room climate log."""

import enum
from datetime import datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, Enum, ForeignKey, Integer, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from archive_service.db import Base, utcnow


class RoomKind(enum.StrEnum):
    store = "store"  # 库房
    reading = "reading"  # 阅览室
    office = "office"  # 办公室 — the three must be separate rooms (seed 004 第十八条)

    @property
    def label(self) -> str:
        return {"store": "库房", "reading": "阅档室", "office": "办公室"}[self.value]


class Room(Base):
    __tablename__ = "room"
    __table_args__ = (UniqueConstraint("organisation_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[RoomKind] = mapped_column(Enum(RoomKind, native_enum=False, length=20))
    usable_area_m2: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    # Paper store climate, STANDARDS Part A: 14–24 °C, RH 45–60 %.
    temp_min_c: Mapped[Decimal] = mapped_column(Numeric(4, 1), default=Decimal("14"))
    temp_max_c: Mapped[Decimal] = mapped_column(Numeric(4, 1), default=Decimal("24"))
    rh_min_pct: Mapped[Decimal] = mapped_column(Numeric(4, 1), default=Decimal("45"))
    rh_max_pct: Mapped[Decimal] = mapped_column(Numeric(4, 1), default=Decimal("60"))

    units: Mapped[list["ShelvingUnit"]] = relationship(back_populates="room", order_by="ShelvingUnit.code")

    def breaches(self, temperature_c: Decimal, humidity_pct: Decimal) -> list[str]:
        """What a reading breaks of this room's limits (empty when it is within them)."""
        out = []
        if not self.temp_min_c <= temperature_c <= self.temp_max_c:
            out.append(f"温度 {temperature_c} °C 超出 {self.temp_min_c}–{self.temp_max_c} °C")
        if not self.rh_min_pct <= humidity_pct <= self.rh_max_pct:
            out.append(f"相对湿度 {humidity_pct} % 超出 {self.rh_min_pct}–{self.rh_max_pct} %")
        return out


class VolumeProfile(Base):
    """A box or volume size a bureau shelves (卷盒规格); its thickness sets how many fit on a layer."""

    __tablename__ = "volume_profile"
    __table_args__ = (
        UniqueConstraint("organisation_id", "name"),
        CheckConstraint("thickness_mm > 0", name="thickness_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    name: Mapped[str] = mapped_column(String(60))
    thickness_mm: Mapped[int] = mapped_column(Integer)
    height_mm: Mapped[int] = mapped_column(Integer, default=310)
    depth_mm: Mapped[int] = mapped_column(Integer, default=225)


class ShelvingUnit(Base):
    """A compact-shelving unit (密集架): columns (列) of sections (节) of layers (层), one or two faces."""

    __tablename__ = "shelving_unit"
    __table_args__ = (UniqueConstraint("room_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("room.id"))
    code: Mapped[str] = mapped_column(String(20))
    sides: Mapped[int] = mapped_column(Integer, default=2)  # compact-shelving columns are usually double-sided
    profile_id: Mapped[int | None] = mapped_column(ForeignKey("volume_profile.id"))

    room: Mapped[Room] = relationship(back_populates="units", lazy="joined")
    profile: Mapped[VolumeProfile | None] = relationship(lazy="joined")
    slots: Mapped[list["ShelfSlot"]] = relationship(back_populates="unit", order_by="ShelfSlot.shelf_order")


class ShelfSlot(Base):
    """One layer of one section of one column face: the place a run of volumes stands.

    `used_volumes` is kept by the shelving service with a guarded UPDATE and the CHECK below, so
    two clerks shelving at once can never overfill a layer."""

    __tablename__ = "shelf_slot"
    __table_args__ = (
        UniqueConstraint("unit_id", "column_no", "side", "section_no", "layer_no"),
        CheckConstraint("used_volumes >= 0 AND used_volumes <= capacity_volumes", name="within_capacity"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("shelving_unit.id"), index=True)
    column_no: Mapped[int] = mapped_column(Integer)
    side: Mapped[int] = mapped_column(Integer, default=1)  # 1 = A面, 2 = B面 of a double-sided column
    section_no: Mapped[int] = mapped_column(Integer)
    layer_no: Mapped[int] = mapped_column(Integer)  # 1 = top layer
    usable_width_mm: Mapped[int] = mapped_column(Integer, default=800)
    capacity_volumes: Mapped[int] = mapped_column(Integer)
    capacity_set_directly: Mapped[bool] = mapped_column(default=False)  # else ⌊width ÷ profile thickness⌋
    used_volumes: Mapped[int] = mapped_column(Integer, default=0)
    # Filling order within the unit: column, face, section, layer (top down).
    shelf_order: Mapped[int] = mapped_column(Integer, default=0)

    unit: Mapped[ShelvingUnit] = relationship(back_populates="slots", lazy="joined")

    @property
    def code(self) -> str:
        """The layer's barcode text: unit id and position, stable while the shelving stands."""
        return f"L{self.unit_id:04d}-{self.column_no:02d}{'AB'[self.side - 1]}-{self.section_no:02d}-{self.layer_no}"

    @property
    def position(self) -> str:
        face = f"{'AB'[self.side - 1]}面 " if self.unit.sides == 2 else ""
        return f"{self.unit.code}架 {self.column_no}列 {face}{self.section_no}节 {self.layer_no}层"

    @property
    def label(self) -> str:
        return f"{self.unit.room.name} {self.position}"


class SpacePolicy(Base):
    """A bureau's space and staffing figures (DESIGN §1: settings, never constants). One row per bureau;
    a bureau without a row follows the national preset."""

    __tablename__ = "space_policy"

    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), primary_key=True)
    preset: Mapped[str] = mapped_column(String(20))  # the preset the figures came from, or "custom"
    area_m2_per_10k_volumes: Mapped[Decimal] = mapped_column(Numeric(8, 2))
    min_area_m2: Mapped[Decimal] = mapped_column(Numeric(8, 2))
    min_area_below_volumes: Mapped[int] = mapped_column(Integer)
    volumes_per_archivist: Mapped[int] = mapped_column(Integer)
    retirees_per_service_staff: Mapped[int] = mapped_column(Integer)
    shelving_m_per_m2: Mapped[Decimal] = mapped_column(Numeric(6, 2))
    planning_years: Mapped[int] = mapped_column(Integer)
    # Service staff by unit (002 第十一条): the district office's and each street's fewest added staff, and the
    # retirees below which a community's colleague serves them part-time (0: the policy sets none).
    office_staff_minimum: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    street_staff_minimum: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    part_time_below_retirees: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class RetirementProjection(Base):
    """Files an enterprise expects to hand over in a year (projected retirements), for the forecast."""

    __tablename__ = "retirement_projection"
    __table_args__ = (
        UniqueConstraint("bureau_id", "enterprise_id", "year"),
        CheckConstraint("retirees >= 0", name="retirees_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    bureau_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    year: Mapped[int] = mapped_column(Integer)
    retirees: Mapped[int] = mapped_column(Integer)


class EnvironmentReading(Base):
    __tablename__ = "environment_reading"

    id: Mapped[int] = mapped_column(primary_key=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("room.id"), index=True)
    at: Mapped[datetime]
    temperature_c: Mapped[Decimal] = mapped_column(Numeric(4, 1))
    humidity_pct: Mapped[Decimal] = mapped_column(Numeric(4, 1))
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)

    room: Mapped[Room] = relationship(lazy="joined")
