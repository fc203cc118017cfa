"""The 存放位置 a ledger gives each file, on the bureau's shelving: its store rooms, their units and every
layer's free volumes loaded once for a pass; a row's place found on them (a layer that exists and still
has room for what the ledger puts there), or planned as a unit to set up — when the person agreed to, the
room's area and the layers' capacity given.
"""

from collections import defaultdict

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive_service.holdings.decisions import Decisions
from archive_service.holdings.ledger_cells import place_key
from archive_service.holdings.ledger_rows import LedgerRow
from archive_service.holdings.outcome import NewUnit, Outcome
from archive_service.organisations.models import Organisation
from archive_service.shelving import planning
from archive_service.shelving.models import Room, RoomKind, ShelfSlot, ShelvingUnit, VolumeProfile


class LedgerShelving:
    """The bureau's store rooms, units and layers as a pass over the ledger finds them."""

    def __init__(self, session: Session, bureau: Organisation, decisions: Decisions, *, saving: bool = False) -> None:
        self.session, self.bureau, self.decisions, self.saving = session, bureau, decisions, saving
        self.rooms = {
            place_key(r.name): r
            for r in session.scalars(select(Room).where(Room.organisation_id == bureau.id, Room.kind == RoomKind.store))
        }
        self.units: dict[tuple[int, str], ShelvingUnit] = {}
        self.slots: dict[tuple[int, int, int, int, int], tuple[int, int]] = {}  # → (slot id, free volumes)
        if self.rooms:  # asked of the database, not room.units: a unit set up in this transaction counts
            for unit in session.scalars(
                select(ShelvingUnit).where(ShelvingUnit.room_id.in_([r.id for r in self.rooms.values()]))
            ):
                self.units[(unit.room_id, place_key(unit.code))] = unit
        if self.units:
            # Plain tuples (a district's store rooms hold tens of thousands of layers; a Row's attributes cost).
            for slot_id, unit_id, column, side, section, layer, capacity, used in session.execute(
                select(
                    ShelfSlot.id, ShelfSlot.unit_id, ShelfSlot.column_no, ShelfSlot.side, ShelfSlot.section_no,
                    ShelfSlot.layer_no, ShelfSlot.capacity_volumes, ShelfSlot.used_volumes,
                ).where(ShelfSlot.unit_id.in_([u.id for u in self.units.values()]))
            ):  # fmt: skip
                self.slots[(unit_id, column, side, section, layer)] = (slot_id, capacity - used)
        self.filled: dict[int, int] = defaultdict(int)
        self.default_capacity = decisions.layer_capacity or self._profile_capacity()

    def _profile_capacity(self) -> int | None:
        profile = self.session.scalar(
            select(VolumeProfile)
            .where(VolumeProfile.organisation_id == self.bureau.id)
            .order_by(VolumeProfile.id)
            .limit(1)
        )
        return planning.layer_capacity(800, profile.thickness_mm) if profile else None

    def slot(self, outcome: Outcome, row: LedgerRow) -> int | None:
        """The layer the row's 存放位置 names (None: no place given, a problem, or a unit still to set up)."""
        loc = row.location
        if loc is None:
            return None
        problem = lambda code, message: outcome.problem(row.sheet, row.row, "存放位置", code, message)  # noqa: E731
        place = (loc.column, loc.side, loc.section, loc.layer)
        room_key, unit_key = place_key(loc.room), place_key(loc.unit)
        room = self.rooms.get(room_key)
        unit = self.units.get((room.id, unit_key)) if room else None
        if unit is not None:
            found = self.slots.get((unit.id, *place))
            if found is None:
                face = "B面" if loc.side == 2 else ("A面" if unit.sides == 2 else "")
                return problem(
                    "location.no_such_layer",
                    f"{room.name if room else loc.room}{unit.code}架没有"
                    f" {loc.column}列{face}{loc.section}节{loc.layer}层",
                )
            slot_id, free = found
            self.filled[slot_id] += row.volumes
            if self.filled[slot_id] > free:
                return problem(
                    "location.full",
                    f"{loc.written}：该层尚余 {free} 卷位置，台账在此层列有 {self.filled[slot_id]} 卷"
                    "（可在库房页调高该层容量）",
                )
            return slot_id
        for what, limit, value in (("列", 100, loc.column), ("节（格）", 50, loc.section), ("层", 12, loc.layer)):
            if value > limit:
                return problem("location.range", f"{loc.written}：{what}号 {value} 超出密集架的范围（至多 {limit}）")
        if room is None:
            missing = outcome.missing_rooms.setdefault(room_key, {"name": loc.room, "rows": 0})
            missing["rows"] += 1
        new = outcome.new_units.setdefault((room_key, unit_key), NewUnit(room.name if room else loc.room, loc.unit))
        new.columns, new.sections = max(new.columns, loc.column), max(new.sections, loc.section)
        new.layers, new.sides, new.rows = max(new.layers, loc.layer), max(new.sides, loc.side), new.rows + 1
        new.per_layer[place] = new.per_layer.get(place, 0) + row.volumes
        if not self.decisions.create_shelving:
            what = f"库房“{loc.room}”" if room is None else f"{room.name}{loc.unit}排（密集架）"
            return problem("location.not_set_up", f"{what}尚未建立：可在上方选择按台账新建")
        if room is None and room_key not in {place_key(k) for k in self.decisions.room_areas}:
            return problem("location.room_area", f"新建库房“{loc.room}”须在上方填写使用面积")
        if self.default_capacity is None:
            return problem("location.capacity", "新建密集架须在上方填写每层容量（本馆尚无卷盒规格）")
        if self.saving:  # set up before the pass: a unit still missing was not in the dry run's plan
            return problem("location.not_set_up", f"{loc.written}：密集架未按检查结果建立，请重新检查后再导入")
        return None  # fine: its layer exists once the shelving is set up, before the rows are written
