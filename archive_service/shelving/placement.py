"""Shelving and moving volumes: every file on the shelf holds its layer's counter (a guarded UPDATE and a
CHECK: a layer is never over-full), every move a custody event; auto-assign fills the layers in order."""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, select, true, update
from sqlalchemy.orm import Session

from archive_service.auth.models import User
from archive_service.auth.permissions import Action, require
from archive_service.dossiers.models import CustodyEventKind, Dossier, DossierStatus, Retiree
from archive_service.dossiers.service import custody_event, record_custody
from archive_service.errors import ArchiveError, NotFound
from archive_service.shelving.layout import get_room
from archive_service.shelving.models import (
    Room,
    RoomKind,
    ShelfSlot,
    ShelvingUnit,
)

# Dossiers that have a home on the shelf: in the store, or out on loan and coming back to it.
SHELVED_STATUSES = (DossierStatus.in_custody, DossierStatus.on_loan)


# ---- shelving and moving ----------------------------------------------------------------------


def claim(session: Session, slot: ShelfSlot, volumes: int) -> None:
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


def claim_many(session: Session, volumes: dict[int, int]) -> None:
    """Room on many layers at once (a ledger of files already on the shelves), each by the same guarded
    UPDATE as `claim`, run as one statement for all; all or none — a layer without the room refuses the lot."""
    if not volumes:
        return
    ids = sorted(volumes)
    before = dict(
        session.execute(  # locked: the comparison below sees only this claim's change
            select(ShelfSlot.id, ShelfSlot.used_volumes).where(ShelfSlot.id.in_(ids)).with_for_update()
        ).all()
    )
    table: Any = ShelfSlot.__table__
    session.execute(
        update(table)
        .where(table.c.id == bindparam("slot"), table.c.used_volumes + bindparam("n") <= table.c.capacity_volumes)
        .values(used_volumes=table.c.used_volumes + bindparam("n")),
        [{"slot": i, "n": volumes[i]} for i in ids],
    )
    after = dict(session.execute(select(ShelfSlot.id, ShelfSlot.used_volumes).where(ShelfSlot.id.in_(ids))).all())
    full = [i for i in ids if after[i] != before[i] + volumes[i]]
    if full:
        slot = session.get(ShelfSlot, full[0])
        assert slot is not None
        raise ArchiveError(
            "slot.full", f"{slot.label} 已无空位（容量 {slot.capacity_volumes} 卷），本次未上架任何档案", "slot_id", 409
        )
    session.expire_all()


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
        claim(session, slot, dossier.volumes)
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
    claim(session, slot, dossier.volumes)
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
        claim(session, slot, sum(d.volumes for d in files))
        for dossier in files:
            dossier.shelf_slot_id = slot.id
            session.add(
                custody_event(
                    dossier, CustodyEventKind.shelved, actor=user, to_slot_id=slot.id, note=f"{slot.label}（自动分配）"
                )
            )
    session.flush()
    return {d.id: chosen[d.id].slot for d in todo}
