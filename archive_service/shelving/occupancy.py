"""Used and free volumes per room, unit and layer, from the layers' guarded counters."""

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive_service.auth.models import User
from archive_service.dossiers.models import Dossier
from archive_service.shelving.layout import get_room, get_slot, rooms
from archive_service.shelving.models import (
    RoomKind,
)

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
