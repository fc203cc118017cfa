"""The store rooms of one bureau, their shelving units and layers (层位) with their capacity, and the
volume profiles (卷盒规格): what `archive_service/shelving` places files into."""

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive_service.auth.models import User
from archive_service.auth.permissions import Action, require
from archive_service.errors import ArchiveError, NotFound
from archive_service.shelving import planning
from archive_service.shelving.models import (
    Room,
    RoomKind,
    ShelfSlot,
    ShelvingUnit,
    VolumeProfile,
)


def check_range(value: int | Decimal, low: int | Decimal, high: int | Decimal, field: str, what: str) -> None:
    if not low <= value <= high:
        raise ArchiveError(
            f"{field.rsplit('.', 1)[-1]}.range", f"{what}须在 {low}–{high} 之间，实为 {value}", field, 422
        )


# ---- rooms, profiles, units -------------------------------------------------------------------


def rooms(session: Session, user: User) -> Sequence[Room]:
    require(user, Action.view_holdings)
    return session.scalars(select(Room).where(Room.organisation_id == user.organisation_id).order_by(Room.id)).all()


def get_room(session: Session, user: User, room_id: int) -> Room:
    require(user, Action.view_holdings)
    room = session.get(Room, room_id)
    if room is None or room.organisation_id != user.organisation_id:  # another bureau's room: as if missing
        raise NotFound("该库房", "room_id")
    return room


@dataclass(frozen=True)
class RoomForm:
    name: str
    kind: RoomKind
    usable_area_m2: Decimal
    temp_min_c: Decimal = Decimal(14)
    temp_max_c: Decimal = Decimal(24)
    rh_min_pct: Decimal = Decimal(45)
    rh_max_pct: Decimal = Decimal(60)


def add_room(session: Session, user: User, form: RoomForm) -> Room:
    require(user, Action.manage_shelving)
    name = form.name.strip()
    if not name:
        raise ArchiveError("name.required", "请填写房间名称", "name", 422)
    check_range(form.usable_area_m2, Decimal("0.01"), Decimal(100000), "usable_area_m2", "使用面积（m²）")
    if form.temp_min_c >= form.temp_max_c:
        raise ArchiveError("temp_max_c.order", "温度上限须高于下限", "temp_max_c", 422)
    if form.rh_min_pct >= form.rh_max_pct:
        raise ArchiveError("rh_max_pct.order", "湿度上限须高于下限", "rh_max_pct", 422)
    check_range(form.rh_min_pct, 0, 100, "rh_min_pct", "湿度下限（%）")
    check_range(form.rh_max_pct, 0, 100, "rh_max_pct", "湿度上限（%）")
    taken = session.scalar(select(Room.id).where(Room.organisation_id == user.organisation_id, Room.name == name))
    if taken:
        raise ArchiveError("name.duplicate", f"本馆已有名为“{name}”的房间", "name", 409)
    room = Room(
        organisation_id=user.organisation_id,
        name=name,
        kind=form.kind,
        usable_area_m2=form.usable_area_m2,
        temp_min_c=form.temp_min_c,
        temp_max_c=form.temp_max_c,
        rh_min_pct=form.rh_min_pct,
        rh_max_pct=form.rh_max_pct,
    )
    session.add(room)
    session.flush()
    return room


def profiles(session: Session, user: User) -> Sequence[VolumeProfile]:
    return session.scalars(
        select(VolumeProfile).where(VolumeProfile.organisation_id == user.organisation_id).order_by(VolumeProfile.id)
    ).all()


def add_profile(
    session: Session, user: User, name: str, thickness_mm: int, height_mm: int = 310, depth_mm: int = 225
) -> VolumeProfile:
    require(user, Action.manage_shelving)
    name = name.strip()
    if not name:
        raise ArchiveError("name.required", "请填写卷盒规格名称", "name", 422)
    check_range(thickness_mm, 5, 200, "thickness_mm", "卷盒厚度（mm）")
    check_range(height_mm, 100, 600, "height_mm", "卷盒高度（mm）")
    check_range(depth_mm, 100, 600, "depth_mm", "卷盒深度（mm）")
    if session.scalar(
        select(VolumeProfile.id).where(
            VolumeProfile.organisation_id == user.organisation_id, VolumeProfile.name == name
        )
    ):
        raise ArchiveError("name.duplicate", f"本馆已有名为“{name}”的卷盒规格", "name", 409)
    profile = VolumeProfile(
        organisation_id=user.organisation_id,
        name=name,
        thickness_mm=thickness_mm,
        height_mm=height_mm,
        depth_mm=depth_mm,
    )
    session.add(profile)
    session.flush()
    return profile


@dataclass(frozen=True)
class UnitForm:
    code: str
    columns: int
    sections: int
    layers: int
    sides: int = 2
    usable_width_mm: int = 800
    profile_id: int | None = None  # capacity per layer = ⌊width ÷ thickness⌋ …
    capacity_per_layer: int | None = None  # … or set directly


def add_unit(session: Session, user: User, room_id: int, form: UnitForm) -> ShelvingUnit:
    """A compact-shelving unit with all its layers; each layer's capacity from the volume profile or as given."""
    require(user, Action.manage_shelving)
    room = get_room(session, user, room_id)
    if room.kind is not RoomKind.store:
        raise ArchiveError("room.kind", f"{room.name}是{room.kind.label}，档案只能存放在库房", "room_id", 422)
    code = form.code.strip()
    if not code:
        raise ArchiveError("code.required", "请填写密集架编号", "code", 422)
    if session.scalar(select(ShelvingUnit.id).where(ShelvingUnit.room_id == room.id, ShelvingUnit.code == code)):
        raise ArchiveError("code.duplicate", f"{room.name}已有编号为 {code} 的密集架", "code", 409)
    check_range(form.columns, 1, 100, "columns", "列数")
    check_range(form.sections, 1, 50, "sections", "每列节数")
    check_range(form.layers, 1, 12, "layers", "每节层数")
    check_range(form.sides, 1, 2, "sides", "面数")
    check_range(form.usable_width_mm, 100, 3000, "usable_width_mm", "每层可用宽度（mm）")
    profile = None
    if form.capacity_per_layer is not None:
        check_range(form.capacity_per_layer, 1, 1000, "capacity_per_layer", "每层容量（卷）")
        capacity = form.capacity_per_layer
    elif form.profile_id is not None:
        profile = session.get(VolumeProfile, form.profile_id)
        if profile is None or profile.organisation_id != user.organisation_id:
            raise NotFound("该卷盒规格", "profile_id")
        capacity = planning.layer_capacity(form.usable_width_mm, profile.thickness_mm)
    else:
        raise ArchiveError(
            "capacity.required", "请选择卷盒规格（按厚度计算每层容量）或直接填写每层容量", "profile_id", 422
        )
    unit = ShelvingUnit(room_id=room.id, code=code, sides=form.sides, profile_id=profile.id if profile else None)
    session.add(unit)
    session.flush()
    order = 0
    for column in range(1, form.columns + 1):
        for side in range(1, form.sides + 1):
            for section in range(1, form.sections + 1):
                for layer in range(1, form.layers + 1):
                    session.add(
                        ShelfSlot(
                            unit_id=unit.id,
                            column_no=column,
                            side=side,
                            section_no=section,
                            layer_no=layer,
                            usable_width_mm=form.usable_width_mm,
                            capacity_volumes=capacity,
                            capacity_set_directly=form.capacity_per_layer is not None,
                            used_volumes=0,
                            shelf_order=order,
                        )
                    )
                    order += 1
    session.flush()
    return unit


def get_slot(session: Session, user: User, slot_id: int, field: str = "slot_id") -> ShelfSlot:
    slot = session.get(ShelfSlot, slot_id)
    if slot is None or slot.unit.room.organisation_id != user.organisation_id:
        raise NotFound("该架位", field)
    return slot


def slot_by_code(session: Session, user: User, code: str) -> ShelfSlot:
    """The layer a scanned layer label names (`ShelfSlot.code`)."""
    try:
        unit_part, column_side, section, layer = code.strip().upper().split("-")
        column, side = int(column_side[:-1]), "AB".index(column_side[-1]) + 1
        unit_id = int(unit_part.removeprefix("L"))
        key = (unit_id, column, side, int(section), int(layer))
    except ValueError:
        raise ArchiveError(
            "slot_code.format", f"架位条码 {code} 格式不对，应如 L0001-01A-02-3", "slot_code", 422
        ) from None
    slot = session.scalar(
        select(ShelfSlot).where(
            ShelfSlot.unit_id == key[0],
            ShelfSlot.column_no == key[1],
            ShelfSlot.side == key[2],
            ShelfSlot.section_no == key[3],
            ShelfSlot.layer_no == key[4],
        )
    )
    if slot is None or slot.unit.room.organisation_id != user.organisation_id:
        raise NotFound("该架位", "slot_code")
    return slot


def set_slot_capacity(session: Session, user: User, slot_id: int, capacity: int) -> ShelfSlot:
    require(user, Action.manage_shelving)
    slot = get_slot(session, user, slot_id)
    check_range(capacity, 1, 1000, "capacity_volumes", "每层容量（卷）")
    if capacity < slot.used_volumes:
        raise ArchiveError(
            "capacity_volumes.below_used",
            f"该层已放 {slot.used_volumes} 卷，容量不能设为 {capacity}",
            "capacity_volumes",
            409,
        )
    slot.capacity_volumes = capacity
    slot.capacity_set_directly = True
    session.flush()
    return slot
