"""Rooms, compact shelving and the slots (layers) dossiers sit in."""

import enum
from decimal import Decimal

from sqlalchemy import Enum, ForeignKey, Integer, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from archive_service.db import Base


class RoomKind(enum.StrEnum):
    store = "store"  # 库房
    reading = "reading"  # 阅览室
    office = "office"  # 办公室 — the three must be separate rooms (seed 004 第十八条)


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


class ShelvingUnit(Base):
    """A compact-shelving unit (密集架)."""

    __tablename__ = "shelving_unit"
    __table_args__ = (UniqueConstraint("room_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("room.id"))
    code: Mapped[str] = mapped_column(String(20))

    room: Mapped[Room] = relationship(back_populates="units")
    slots: Mapped[list["ShelfSlot"]] = relationship(back_populates="unit")


class ShelfSlot(Base):
    """One layer of one section of one column: the place a run of volumes stands."""

    __tablename__ = "shelf_slot"
    __table_args__ = (UniqueConstraint("unit_id", "column_no", "section_no", "layer_no"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("shelving_unit.id"))
    column_no: Mapped[int] = mapped_column(Integer)
    section_no: Mapped[int] = mapped_column(Integer)
    layer_no: Mapped[int] = mapped_column(Integer)
    usable_width_mm: Mapped[int] = mapped_column(Integer, default=800)
    capacity_volumes: Mapped[int] = mapped_column(Integer)

    unit: Mapped[ShelvingUnit] = relationship(back_populates="slots", lazy="joined")

    @property
    def label(self) -> str:
        return f"{self.unit.room.name} {self.unit.code}架 {self.column_no}列 {self.section_no}节 {self.layer_no}层"
