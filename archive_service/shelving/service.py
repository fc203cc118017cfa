"""Shelving rules: rooms and units of one bureau, slot capacity, shelving and moving volumes,
occupancy, the bureau's space policy, projections, the forecast and the climate log."""

import csv
import io
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation

from sqlalchemy import func, select, true, update
from sqlalchemy.orm import Session

from archive_service.auth.models import User
from archive_service.auth.permissions import Action, require
from archive_service.db import bureau_today, bureau_zone
from archive_service.dossiers.models import CustodyEventKind, Dossier, DossierStatus, Retiree
from archive_service.dossiers.service import custody_event, record_custody
from archive_service.errors import ArchiveError, NotFound
from archive_service.organisations.models import Organisation, OrganisationKind
from archive_service.shelving import planning
from archive_service.shelving.labels import Label, labels_pdf
from archive_service.shelving.models import (
    EnvironmentReading,
    RetirementProjection,
    Room,
    RoomKind,
    ShelfSlot,
    ShelvingUnit,
    SpacePolicy,
    VolumeProfile,
)
from archive_service.transfers.models import ItemResult, TransferBatch, TransferItem, TransferStatus
from archive_service.uploads import csv_text

# Dossiers that have a home on the shelf: in the store, or out on loan and coming back to it.
SHELVED_STATUSES = (DossierStatus.in_custody, DossierStatus.on_loan)


def _in_range(value: int | Decimal, low: int | Decimal, high: int | Decimal, field: str, what: str) -> None:
    if not low <= value <= high:
        raise ArchiveError(
            f"{field.rsplit('.', 1)[-1]}.range", f"{what}须在 {low}–{high} 之间，实为 {value}", field, 422
        )


# ---- rooms, profiles, units -------------------------------------------------------------------


def rooms(session: Session, user: User) -> Sequence[Room]:
    require(user, Action.view_dossiers)
    return session.scalars(select(Room).where(Room.organisation_id == user.organisation_id).order_by(Room.id)).all()


def get_room(session: Session, user: User, room_id: int) -> Room:
    require(user, Action.view_dossiers)
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
    _in_range(form.usable_area_m2, Decimal("0.01"), Decimal(100000), "usable_area_m2", "使用面积（m²）")
    if form.temp_min_c >= form.temp_max_c:
        raise ArchiveError("temp_max_c.order", "温度上限须高于下限", "temp_max_c", 422)
    if form.rh_min_pct >= form.rh_max_pct:
        raise ArchiveError("rh_max_pct.order", "湿度上限须高于下限", "rh_max_pct", 422)
    _in_range(form.rh_min_pct, 0, 100, "rh_min_pct", "湿度下限（%）")
    _in_range(form.rh_max_pct, 0, 100, "rh_max_pct", "湿度上限（%）")
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
    _in_range(thickness_mm, 5, 200, "thickness_mm", "卷盒厚度（mm）")
    _in_range(height_mm, 100, 600, "height_mm", "卷盒高度（mm）")
    _in_range(depth_mm, 100, 600, "depth_mm", "卷盒深度（mm）")
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
    _in_range(form.columns, 1, 100, "columns", "列数")
    _in_range(form.sections, 1, 50, "sections", "每列节数")
    _in_range(form.layers, 1, 12, "layers", "每节层数")
    _in_range(form.sides, 1, 2, "sides", "面数")
    _in_range(form.usable_width_mm, 100, 3000, "usable_width_mm", "每层可用宽度（mm）")
    profile = None
    if form.capacity_per_layer is not None:
        _in_range(form.capacity_per_layer, 1, 1000, "capacity_per_layer", "每层容量（卷）")
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
    _in_range(capacity, 1, 1000, "capacity_volumes", "每层容量（卷）")
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


# ---- shelving and moving ----------------------------------------------------------------------


def _take(session: Session, slot: ShelfSlot, volumes: int) -> None:
    """Claim room on a layer in one guarded UPDATE: of two clerks racing for the last place, one wins."""
    claimed = session.execute(  # type: ignore[attr-defined]  # an UPDATE's result has rowcount
        update(ShelfSlot)
        .where(ShelfSlot.id == slot.id, ShelfSlot.used_volumes + volumes <= ShelfSlot.capacity_volumes)
        .values(used_volumes=ShelfSlot.used_volumes + volumes)
        .execution_options(synchronize_session=False)
    ).rowcount
    if claimed != 1:
        raise ArchiveError(
            "slot.full", f"{slot.label} 已无空位（容量 {slot.capacity_volumes} 卷），请换一层", "slot_id", 409
        )
    session.expire(slot, ["used_volumes"])


def _release(session: Session, slot_id: int, volumes: int) -> None:
    session.execute(
        update(ShelfSlot)
        .where(ShelfSlot.id == slot_id)
        .values(used_volumes=ShelfSlot.used_volumes - volumes)
        .execution_options(synchronize_session=False)
    )


def take_off_shelf(session: Session, dossier: Dossier) -> int | None:
    """Free a dossier's place when it leaves the bureau (转递); the slot it had, for the custody event."""
    previous = dossier.shelf_slot_id
    if previous is not None:
        _release(session, previous, dossier.volumes)
        dossier.shelf_slot_id = None
    return previous


def put_back(session: Session, dossier: Dossier, slot_id: int | None) -> ShelfSlot | None:
    """Return a dossier to the place it had (a withdrawn 转递); None when that layer has filled up since,
    and the file waits to be shelved like a new one."""
    slot = session.get(ShelfSlot, slot_id) if slot_id else None
    if slot is None:
        return None
    try:
        _take(session, slot, dossier.volumes)
    except ArchiveError:
        return None
    dossier.shelf_slot_id = slot.id
    return slot


def _check_shelvable(dossier: Dossier, user: User) -> None:
    if dossier.custodian_id != user.organisation_id:
        raise NotFound("该档案", "dossier_id")
    if dossier.status not in SHELVED_STATUSES:
        raise ArchiveError(
            "dossier.status", f"档案 {dossier.archival_code} 状态为{dossier.status.label}，不能上架", "dossier_id", 409
        )


def place(session: Session, user: User, dossier: Dossier, slot: ShelfSlot, note: str = "") -> None:
    """Put a dossier on a chosen layer: first shelving (上架) or a move (移架); either is a custody event."""
    require(user, Action.manage_shelving)
    _check_shelvable(dossier, user)
    if slot.unit.room.organisation_id != user.organisation_id:
        raise NotFound("该架位", "slot_id")
    previous = dossier.shelf_slot_id
    if previous == slot.id:
        raise ArchiveError("slot.same", f"档案 {dossier.archival_code} 已在 {slot.label}", "slot_id", 409)
    _take(session, slot, dossier.volumes)
    where = slot.label
    if previous is not None:
        _release(session, previous, dossier.volumes)
        old = session.get(ShelfSlot, previous)
        where = f"{old.label if old else previous} → {slot.label}"
    dossier.shelf_slot_id = slot.id
    record_custody(
        session,
        dossier,
        CustodyEventKind.moved if previous else CustodyEventKind.shelved,
        actor=user,
        from_slot_id=previous,
        to_slot_id=slot.id,
        note=f"{where}（{note}）" if note else where,
    )


def unshelved(session: Session, user: User, limit: int | None = None) -> Sequence[Dossier]:
    """The bureau's files waiting for a place (待上架), in archival-code order."""
    require(user, Action.view_dossiers)
    query = (
        select(Dossier)
        .where(
            Dossier.custodian_id == user.organisation_id,
            Dossier.status.in_(SHELVED_STATUSES),
            Dossier.shelf_slot_id.is_(None),
        )
        .order_by(Dossier.archival_code)
    )
    return session.scalars(query.limit(limit) if limit else query).all()


@dataclass
class _Layer:
    slot: ShelfSlot
    used: int
    enterprises: set[int]

    @property
    def free(self) -> int:
        return self.slot.capacity_volumes - self.used


def auto_assign(
    session: Session, user: User, dossiers: Iterable[Dossier] | None = None, room_id: int | None = None
) -> dict[int, ShelfSlot]:
    """Give each dossier the next free layer, keeping one enterprise's files together and in archival-code
    order: an enterprise already on the shelf continues on its last layer and the empty layers after it;
    a new enterprise starts on the first empty layer. Only when no empty layer is left does a file go to
    the first layer with room. All or nothing: when the shelving cannot take every file, nothing moves.
    With `room_id`, only that store room's layers are used (a new room for a new batch)."""
    require(user, Action.manage_shelving)
    todo = list(unshelved(session, user) if dossiers is None else dossiers)
    for dossier in todo:
        _check_shelvable(dossier, user)
        if dossier.shelf_slot_id is not None:
            raise ArchiveError("dossier.shelved", f"档案 {dossier.archival_code} 已上架，请用移架", "dossier_ids", 409)
    if not todo:
        return {}
    layers = [
        _Layer(slot, slot.used_volumes, set())
        for slot in session.scalars(
            select(ShelfSlot)
            .join(ShelvingUnit)
            .join(Room)
            .where(Room.organisation_id == user.organisation_id, Room.kind == RoomKind.store)
            .where(Room.id == get_room(session, user, room_id).id if room_id is not None else true())
            .order_by(Room.id, ShelvingUnit.code, ShelfSlot.shelf_order)
        )
    ]
    position = {layer.slot.id: i for i, layer in enumerate(layers)}
    last_of: dict[int, int] = {}  # enterprise → index of its last layer
    for slot_id, enterprise_id in session.execute(
        select(Dossier.shelf_slot_id, Retiree.enterprise_id)
        .join(Retiree)
        .where(Dossier.custodian_id == user.organisation_id, Dossier.shelf_slot_id.is_not(None))
        .distinct()
    ):
        i = position.get(slot_id) if slot_id is not None else None
        if i is not None:
            layers[i].enterprises.add(enterprise_id)
            last_of[enterprise_id] = max(last_of.get(enterprise_id, -1), i)

    def first_fit(need: int, start: int, enterprise: int) -> int | None:
        # Continue the enterprise's run: its own layers and empty ones, without jumping another's files.
        for i in range(start, len(layers)):
            layer = layers[i]
            if layer.enterprises - {enterprise}:
                break
            if layer.free >= need:
                return i
        for i, layer in enumerate(layers):  # a fresh run on the first empty layer
            if layer.used == 0 and layer.free >= need:
                return i
        return next((i for i, layer in enumerate(layers) if layer.free >= need), None)

    groups: dict[int, list[Dossier]] = defaultdict(list)
    for dossier in sorted(todo, key=lambda d: d.archival_code):
        groups[dossier.retiree.enterprise_id].append(dossier)
    chosen: dict[int, _Layer] = {}
    for enterprise, files in groups.items():
        cursor = last_of.get(enterprise, len(layers))
        for dossier in files:
            i = first_fit(dossier.volumes, cursor, enterprise)
            if i is None:
                left = len(todo) - len(chosen)
                raise ArchiveError(
                    "shelving.full",
                    f"库房架位不足：尚有 {left} 份档案无处上架，请先增设密集架或调整每层容量（本次未上架任何档案）",
                    "dossier_ids",
                    409,
                )
            layers[i].used += dossier.volumes
            layers[i].enterprises.add(enterprise)
            chosen[dossier.id] = layers[i]
            cursor = i
    # One guarded claim per layer and the events in one flush: a 10,000-file batch is one short transaction.
    by_layer: dict[int, list[Dossier]] = defaultdict(list)
    for dossier in todo:
        by_layer[chosen[dossier.id].slot.id].append(dossier)
    for files in by_layer.values():
        slot = chosen[files[0].id].slot
        _take(session, slot, sum(d.volumes for d in files))
        for dossier in files:
            dossier.shelf_slot_id = slot.id
            session.add(
                custody_event(
                    dossier, CustodyEventKind.shelved, actor=user, to_slot_id=slot.id, note=f"{slot.label}（自动分配）"
                )
            )
    session.flush()
    return {d.id: chosen[d.id].slot for d in todo}


# ---- occupancy --------------------------------------------------------------------------------


@dataclass(frozen=True)
class LayerUse:
    slot_id: int
    code: str
    column_no: int
    side: int
    section_no: int
    layer_no: int
    used: int
    capacity: int


@dataclass(frozen=True)
class UnitUse:
    id: int
    code: str
    sides: int
    used: int
    capacity: int
    layers: list[LayerUse]


@dataclass(frozen=True)
class RoomUse:
    id: int
    name: str
    kind: RoomKind
    usable_area_m2: Decimal
    used: int
    capacity: int
    units: list[UnitUse]


def occupancy(session: Session, user: User, room_id: int | None = None) -> list[RoomUse]:
    """Used / capacity per room (or of one room), unit and layer, from the guarded counters."""
    out = []
    for room in rooms(session, user) if room_id is None else [get_room(session, user, room_id)]:
        units = []
        for unit in room.units:
            layers = [
                LayerUse(
                    s.id, s.code, s.column_no, s.side, s.section_no, s.layer_no, s.used_volumes, s.capacity_volumes
                )
                for s in unit.slots
            ]
            units.append(
                UnitUse(
                    unit.id,
                    unit.code,
                    unit.sides,
                    sum(x.used for x in layers),
                    sum(x.capacity for x in layers),
                    layers,
                )
            )
        out.append(
            RoomUse(
                room.id,
                room.name,
                room.kind,
                room.usable_area_m2,
                sum(u.used for u in units),
                sum(u.capacity for u in units),
                units,
            )
        )
    return out


def slot_contents(session: Session, user: User, slot_id: int) -> Sequence[Dossier]:
    get_slot(session, user, slot_id)
    return session.scalars(
        select(Dossier).where(Dossier.shelf_slot_id == slot_id).order_by(Dossier.archival_code)
    ).all()


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
    )


POLICY_FIGURES = (
    "area_m2_per_10k_volumes",
    "min_area_m2",
    "min_area_below_volumes",
    "volumes_per_archivist",
    "retirees_per_service_staff",
    "shelving_m_per_m2",
    "planning_years",
)


def policy_from(preset: str, figures: dict[str, Decimal | int | None]) -> planning.Policy:
    """A named preset, or `custom` with every figure given."""
    if preset != planning.CUSTOM:
        if preset not in planning.presets():
            names = "、".join([*planning.presets(), planning.CUSTOM])
            raise ArchiveError("preset.unknown", f"没有名为 {preset} 的政策，可选：{names}", "preset", 422)
        return planning.presets()[preset]
    missing = [name for name in POLICY_FIGURES if figures.get(name) is None]
    if missing:
        raise ArchiveError("policy.required", f"自定政策须填写全部数值，缺少：{'、'.join(missing)}", missing[0], 422)
    return planning.custom_policy(
        area_m2_per_10k_volumes=Decimal(figures["area_m2_per_10k_volumes"] or 0),
        min_area_m2=Decimal(figures["min_area_m2"] or 0),
        min_area_below_volumes=int(figures["min_area_below_volumes"] or 0),
        volumes_per_archivist=int(figures["volumes_per_archivist"] or 0),
        retirees_per_service_staff=int(figures["retirees_per_service_staff"] or 0),
        shelving_m_per_m2=Decimal(figures["shelving_m_per_m2"] or 0),
        planning_years=int(figures["planning_years"] or 0),
    )


def set_policy(session: Session, user: User, policy: planning.Policy) -> planning.Policy:
    """Pick a preset or store the bureau's own figures (`planning.custom_policy`)."""
    require(user, Action.set_space_policy)
    _in_range(policy.area_m2_per_10k_volumes, Decimal(1), Decimal(1000), "area_m2_per_10k_volumes", "每万卷面积（m²）")
    _in_range(policy.min_area_m2, Decimal(0), Decimal(10000), "min_area_m2", "最小库房面积（m²）")
    _in_range(policy.min_area_below_volumes, 0, 1000000, "min_area_below_volumes", "最小面积适用卷数")
    _in_range(policy.volumes_per_archivist, 100, 1000000, "volumes_per_archivist", "每名档案管理人员卷数")
    _in_range(policy.retirees_per_service_staff, 10, 1000000, "retirees_per_service_staff", "每名服务人员退休人数")
    _in_range(policy.shelving_m_per_m2, Decimal("0.5"), Decimal(50), "shelving_m_per_m2", "每平方米延长米")
    _in_range(policy.planning_years, 1, 50, "planning_years", "规划年限")
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
    _in_range(year, 2000, 2100, "year", "年份")
    _in_range(retirees, 0, 1000000, "retirees", "预计退休人数")
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
    rows = _csv_rows(data, PROJECTION_HEADERS)
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


def _csv_rows(data: bytes, headers: Sequence[str]) -> list[tuple[int, dict[str, str]]]:
    """Rows of an uploaded CSV keyed by header."""
    reader = csv.DictReader(io.StringIO(csv_text(data)))
    missing = [h for h in headers if h not in (reader.fieldnames or [])]
    if missing:
        raise ArchiveError("file.headers", f"缺少列：{'、'.join(missing)}（表头应为 {','.join(headers)}）", "file", 422)
    rows = [(n, row) for n, row in enumerate(reader, start=2)]
    if not rows:
        raise ArchiveError("file.empty", "文件中没有数据行", "file", 422)
    if len(rows) > 100000:
        raise ArchiveError("file.too_many_rows", f"一次最多导入 100000 行，实为 {len(rows)} 行", "file", 422)
    return rows


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
    _in_range(years, 1, 50, "years", "预测年数")
    _in_range(params.other_stock_volumes, 0, 10000000, "other_stock_volumes", "未入系统的存量卷数")
    _in_range(params.supplement_growth_pct, Decimal(0), Decimal(50), "supplement_growth_pct", "材料补充年增长率（%）")
    start = params.start_year or bureau_today().year
    _in_range(start, 2000, 2100, "start_year", "起始年份")
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
    _in_range(thickness, 5, 200, "thickness_mm", "卷盒厚度（mm）")
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
    )
    return inputs, policy


def run_forecast(session: Session, user: User, params: ForecastParams) -> planning.Forecast:
    inputs, policy = forecast_inputs(session, user, params)
    return planning.forecast(inputs, policy)


# ---- the climate log --------------------------------------------------------------------------


def record_reading(
    session: Session, user: User, room_id: int, at: datetime, temperature_c: Decimal, humidity_pct: Decimal
) -> EnvironmentReading:
    require(user, Action.record_environment)
    room = get_room(session, user, room_id)
    at = _check_reading(at, temperature_c, humidity_pct, "")
    reading = EnvironmentReading(
        room_id=room.id, at=at, temperature_c=temperature_c, humidity_pct=humidity_pct, recorded_by_id=user.id
    )
    session.add(reading)
    session.flush()
    return reading


def _check_reading(at: datetime, temperature_c: Decimal, humidity_pct: Decimal, where: str) -> datetime:
    # Loggers and people in the store write local time; a reading without an offset is Beijing time.
    at = (at if at.tzinfo else at.replace(tzinfo=bureau_zone())).astimezone(UTC)
    if at > datetime.now(UTC) + timedelta(minutes=5):
        raise ArchiveError(
            "at.future", f"{where}读数时间 {at.astimezone(bureau_zone()):%Y-%m-%d %H:%M} 晚于当前时间", "at", 422
        )
    _in_range(temperature_c, Decimal(-30), Decimal(60), "temperature_c", f"{where}温度（°C）")
    _in_range(humidity_pct, Decimal(0), Decimal(100), "humidity_pct", f"{where}相对湿度（%）")
    return at


READING_HEADERS = ("时间", "温度", "湿度")


def import_readings(session: Session, user: User, room_id: int, data: bytes) -> int:
    """A logger's CSV export (时间, 温度, 湿度); all rows or none."""
    require(user, Action.record_environment)
    room = get_room(session, user, room_id)
    problems, good = [], []
    for line, row in _csv_rows(data, READING_HEADERS):
        try:
            at = datetime.fromisoformat(row["时间"].strip().replace("/", "-"))
            temperature, humidity = Decimal(row["温度"].strip()), Decimal(row["湿度"].strip().rstrip("%"))
            at = _check_reading(at, temperature, humidity, f"第 {line} 行")
        except ValueError:
            problems.append(f"第 {line} 行「时间」：应如 2026-11-23 09:00，实为 {row['时间']!r}")
            continue
        except InvalidOperation:
            problems.append(f"第 {line} 行「温度/湿度」：应为数字，实为 {row['温度']!r} / {row['湿度']!r}")
            continue
        except ArchiveError as error:
            problems.append(error.message)
            continue
        good.append(
            EnvironmentReading(
                room_id=room.id, at=at, temperature_c=temperature, humidity_pct=humidity, recorded_by_id=user.id
            )
        )
    if problems:
        raise ArchiveError("file.rows", "；".join(problems[:50]) + (" …" if len(problems) > 50 else ""), "file", 422)
    session.add_all(good)
    session.flush()
    return len(good)


def readings(session: Session, user: User, room_id: int, limit: int = 200) -> Sequence[EnvironmentReading]:
    room = get_room(session, user, room_id)
    return session.scalars(
        select(EnvironmentReading)
        .where(EnvironmentReading.room_id == room.id)
        .order_by(EnvironmentReading.at.desc())
        .limit(limit)
    ).all()


@dataclass(frozen=True)
class ClimateAlert:
    reading: EnvironmentReading
    breaches: list[str]


def climate_alerts(session: Session, bureau_id: int, days: int = 30) -> list[ClimateAlert]:
    """Readings of the bureau's store rooms outside their limits in the last `days` days, newest first."""
    since = datetime.now(UTC) - timedelta(days=days)
    rows = session.scalars(
        select(EnvironmentReading)
        .join(Room)
        .where(Room.organisation_id == bureau_id, Room.kind == RoomKind.store, EnvironmentReading.at >= since)
        .order_by(EnvironmentReading.at.desc())
    )
    alerts = []
    for reading in rows:
        breaches = reading.room.breaches(reading.temperature_c, reading.humidity_pct)
        if breaches:
            alerts.append(ClimateAlert(reading, breaches))
    return alerts


# ---- labels and exports -----------------------------------------------------------------------


def labels(session: Session, user: User, dossier_ids: Sequence[int] = (), slot_ids: Sequence[int] = ()) -> bytes:
    """A label per volume of the given dossiers and per given layer (or per layer those dossiers stand on)."""
    require(user, Action.view_dossiers)
    if not dossier_ids and not slot_ids:
        raise ArchiveError("labels.empty", "请选择要打印标签的档案或架位", "dossier_ids", 422)
    if len(dossier_ids) + len(slot_ids) > 5000:
        raise ArchiveError("labels.too_many", "一次最多打印 5000 张标签", "dossier_ids", 422)
    files = session.scalars(
        select(Dossier)
        .where(Dossier.id.in_(dossier_ids), Dossier.custodian_id == user.organisation_id)
        .order_by(Dossier.archival_code)
    ).all()
    missing = set(dossier_ids) - {d.id for d in files}
    if missing:
        raise NotFound(f"档案 {sorted(missing)[:5]}", "dossier_ids")
    layer_ids = list(dict.fromkeys([*slot_ids, *(d.shelf_slot_id for d in files if d.shelf_slot_id)]))
    layers = [get_slot(session, user, i, "slot_ids") for i in layer_ids]
    slot_names = {s.id: s.label for s in layers}
    out = []
    for layer in sorted(layers, key=lambda s: (s.unit.room_id, s.unit.code, s.shelf_order)):
        codes = slot_contents(session, user, layer.id)
        held = f"{codes[0].archival_code} – {codes[-1].archival_code}" if codes else "空"
        out.append(
            Label(
                layer.code,
                layer.position,
                (layer.label, f"容量 {layer.capacity_volumes} 卷 · 已放 {layer.used_volumes} 卷", held),
            )
        )
    for d in files:
        for n in range(1, d.volumes + 1):
            where = slot_names.get(d.shelf_slot_id or 0, "未上架")
            out.append(
                Label(
                    d.archival_code,
                    f"{d.archival_code} {d.retiree.name}",
                    (d.retiree.enterprise.name, where, f"第 {n} 卷 / 共 {d.volumes} 卷"),
                )
            )
    return labels_pdf(out, "架位与案卷标签")


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
            ]
        )
    sheet.append([])
    for room, year in result.room_full_year.items():
        sheet.append([f"{room} 满架年份", year or f"{result.rows[-1].year} 年前不会满"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
