"""The pass over a ledger: every row read (ledger.py) and checked against the others — a duplicate names both
its rows — and against the database: enterprises by credit code or name, the shelving the ledger names, the
files already held and those on their way in an open batch. The dry run and the save both walk it.
"""

import difflib
import pickle
import tempfile
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import lru_cache
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from archive_service import workbooks
from archive_service.db import bureau_today, one_of, utcnow
from archive_service.dossiers.models import (
    Dossier,
    Retiree,
)
from archive_service.dossiers.service import check_own_fonds
from archive_service.errors import ArchiveError, NotFound
from archive_service.holdings import ledger
from archive_service.holdings.ledger_cells import as_compared, place_key
from archive_service.holdings.ledger_rows import LedgerRow, RowProblem, read_row
from archive_service.holdings.models import (
    HoldingsImport,
    HoldingsProblem,
    ImportState,
)
from archive_service.organisations import units
from archive_service.organisations.models import BureauUnit, Organisation, OrganisationKind
from archive_service.protection import digest_of, keyed_digest
from archive_service.shelving import planning
from archive_service.shelving.models import Room, RoomKind, ShelfSlot, ShelvingUnit, VolumeProfile
from archive_service.transfers.models import OPEN, ItemResult, TransferBatch, TransferItem
from archive_service.values import ValueRuleError, check_archival_code

BATCH = 1000  # rows checked against the database, and written, at a time
RowsDone = Callable[[int, int], None]  # (rows done, rows in all)


def no_progress(_done: int, total_rows: int) -> None:
    return None


@dataclass
class NewEnterprise:
    credit_code: str
    region_code: str
    level: str = "district"


@dataclass
class Decisions:
    """What the person chose for one ledger."""

    renumber: bool = False  # number every file anew in the bureau's series, the old 档号 kept as 原档号
    enterprises: dict[str, int] = field(default_factory=dict)  # a ledger's enterprise name → an existing one
    new_enterprises: dict[str, NewEnterprise] = field(default_factory=dict)  # … → one to create
    create_shelving: bool = False  # set up the rooms and units the ledger names that do not exist yet
    layer_capacity: int | None = None  # volumes per layer of the units set up (None: the bureau's box profile)
    room_areas: dict[str, Decimal] = field(default_factory=dict)  # usable m² of each room to set up

    @classmethod
    def of(cls, imported: HoldingsImport) -> "Decisions":
        d = dict(imported.decisions or {})
        return cls(
            renumber=bool(d.get("renumber")),
            enterprises={k: int(v) for k, v in d.get("enterprises", {}).items()},
            new_enterprises={k: NewEnterprise(**v) for k, v in d.get("new_enterprises", {}).items()},
            create_shelving=bool(d.get("create_shelving")),
            layer_capacity=d.get("layer_capacity"),
            room_areas={k: Decimal(str(v)) for k, v in d.get("room_areas", {}).items()},
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "renumber": self.renumber,
            "enterprises": self.enterprises,
            "new_enterprises": {k: vars(v) for k, v in self.new_enterprises.items()},
            "create_shelving": self.create_shelving,
            "layer_capacity": self.layer_capacity,
            "room_areas": {k: str(v) for k, v in self.room_areas.items()},
        }


# ---- the pass over the ledger ---------------------------------------------------------------------


@lru_cache(maxsize=4096)  # asked on every row; a ledger names a few hundred enterprises
def _name_key(name: str) -> str:
    """Enterprise names as compared: full-width and half-width alike, no spaces, brackets alike."""
    return as_compared(unicodedata.normalize("NFKC", name))


@dataclass
class _NewUnit:
    room: str
    unit: str
    columns: int = 0
    sections: int = 0
    layers: int = 0
    sides: int = 1
    rows: int = 0
    per_layer: dict[tuple[int, int, int, int], int] = field(default_factory=dict)


@dataclass
class Outcome:
    """What one pass over the ledger found."""

    rows: int = 0
    bad: set[tuple[str, int]] = field(default_factory=set)  # (sheet, row) of rows with a blocking problem
    problems: list[tuple[str, int, str, str, str, bool]] = field(default_factory=list)
    unknown_enterprises: dict[str, dict[str, Any]] = field(default_factory=dict)
    missing_rooms: dict[str, dict[str, Any]] = field(default_factory=dict)
    new_units: dict[tuple[str, str], _NewUnit] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def problem(self, sheet: str, row: int, column: str, code: str, message: str, blocking: bool = True) -> None:
        self.problems.append((sheet, row, column, code, message, blocking))
        if blocking:
            self.bad.add((sheet, row))

    def summary(self) -> dict[str, Any]:
        blocking = sum(1 for p in self.problems if p[5])
        return {
            "rows": self.rows,
            "good": self.rows - len(self.bad),
            "rejected": len(self.bad),
            "problems": blocking,
            "notes": len(self.problems) - blocking,
            "unknown_enterprises": self.unknown_enterprises,
            "missing_rooms": self.missing_rooms,
            "new_units": [
                {
                    "room": u.room,
                    "unit": u.unit,
                    "columns": u.columns,
                    "sections": u.sections,
                    "layers": u.layers,
                    "sides": u.sides,
                    "rows": u.rows,
                    "most_in_a_layer": max(u.per_layer.values(), default=0),
                }
                for u in self.new_units.values()
            ],  # fmt: skip
            **dict(self.counts),
        }


@dataclass
class Resolved:
    """A good row, with what the database gave it: its enterprise, its layer, its code."""

    row: LedgerRow
    enterprise: int | str  # an enterprise id, or the name of one to be created
    slot: int | None  # its layer, when the ledger gives it a place
    held_by: int | None = None  # the street or custodian keeping it (the ledger's 保管单位)


ReadRow = tuple[int, LedgerRow, list[RowProblem]]  # (cells filled, the row read, its problems)


class KeptRows:
    """The rows one pass read, kept for the next pass of the same save: pickled a thousand at a time to a
    temporary file, so memory stays bounded and the second pass neither reads the workbook nor reads a
    cell again (reading was two thirds of a pass). What the row is checked against — the other rows, the
    database — is checked again all the same."""

    def __init__(self) -> None:
        self.file = tempfile.TemporaryFile()

    def keep(self, rows: Iterable[ReadRow]) -> Iterator[ReadRow]:
        chunk: list[ReadRow] = []
        for read in rows:
            chunk.append(read)
            yield read
            if len(chunk) >= BATCH:
                pickle.dump(chunk, self.file, pickle.HIGHEST_PROTOCOL)
                chunk = []
        if chunk:
            pickle.dump(chunk, self.file, pickle.HIGHEST_PROTOCOL)

    def replay(self) -> Iterator[ReadRow]:
        self.file.seek(0)
        while True:
            try:
                chunk = pickle.load(self.file)  # noqa: S301 — our own file, written just above in this process
            except EOFError:
                return
            yield from chunk

    def close(self) -> None:
        self.file.close()


class LedgerPass:
    """One walk over the ledger's rows with everything a row is checked against loaded once."""

    def __init__(
        self, session: Session, imported: HoldingsImport, decisions: Decisions, *, saving: bool = False
    ) -> None:
        self.session, self.imported, self.decisions, self.saving = session, imported, decisions, saving
        bureau = session.get(Organisation, imported.bureau_id)
        assert bureau is not None
        self.bureau = bureau
        self.today = bureau_today()
        enterprises = session.execute(
            select(Organisation.id, Organisation.name, Organisation.credit_code).where(
                Organisation.kind == OrganisationKind.enterprise
            )
        ).all()
        self.by_name = {_name_key(n): i for i, n, _ in enterprises}
        self.by_code = {c: i for i, _, c in enterprises}
        self.names = {_name_key(n): (i, n) for i, n, _ in enterprises}
        self.mapped = {_name_key(k): v for k, v in decisions.enterprises.items()}
        self.created = {_name_key(k): k for k in decisions.new_enterprises}
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
        self.holders = {
            _name_key(u.name): u for u in session.scalars(select(BureauUnit).where(BureauUnit.bureau_id == bureau.id))
        }
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

    def rows(self) -> Iterator[ReadRow]:
        """Every data row of every sheet taken, read with its sheet's mapping."""
        sheets = {s["name"]: s for s in self.imported.sheets if not s.get("skip")}
        for sheet in workbooks.sheets(self.imported.content, self.imported.filename, bounds_checked=True):
            info = sheets.get(sheet.name)
            if info is None:
                continue
            mapping = {k: int(v) for k, v in info["mapping"].items()}
            for number, cells in sheet.rows():
                if number <= info["header_row"]:
                    continue
                row, problems = read_row(
                    sheet.name, number, cells, mapping, room=info.get("room", ""), today=self.today
                )
                yield len(cells) - cells.count(None), row, problems

    def walk(
        self, outcome: Outcome, progress: RowsDone, total: int, done: int = 0, rows: Iterable[ReadRow] | None = None
    ) -> Iterator[list[Resolved]]:
        """Check every row (read from the ledger, or `rows` as a pass before read them); yields each batch's
        rows that have no problem so far (a later row may still reject one as its duplicate: `outcome.bad`
        says so at the end)."""
        seen_ids: dict[str, tuple[str, int]] = {}
        seen_codes: dict[str, tuple[str, int]] = {}
        seen_people: dict[tuple[str, str, date | None], tuple[str, int]] = {}
        batch: list[tuple[LedgerRow, int | str | None, Any]] = []
        for filled, row, problems in self.rows() if rows is None else rows:
            if filled <= 1 and not row.name:  # a lone cell under the table: a total, a signature
                continue
            outcome.rows += 1
            where = (row.sheet, row.row)
            for p in problems:
                outcome.problem(row.sheet, row.row, p.column, p.code, p.message, p.blocking)
            self._count(outcome, row)
            enterprise = self._enterprise(outcome, row)
            slot = self._slot(outcome, row)
            self._holder(outcome, row)
            self._code(outcome, row)
            key_code = row.archival_code
            for key, seen, column, what in (
                (row.citizen_id, seen_ids, "公民身份号码", "公民身份号码相同"),
                (key_code, seen_codes, "档号", "档号相同"),
            ):
                if key is None:
                    continue
                if key in seen:
                    self._duplicate(outcome, seen[key], where, column, what)
                else:
                    seen[key] = where
            if row.citizen_id is None and row.name:
                person = (row.name, row.sex or "", row.birth_date)
                if person in seen_people:
                    same = "均无公民身份号码，姓名、性别、出生日期相同"
                    self._duplicate(outcome, seen_people[person], where, "姓名", same)
                else:
                    seen_people[person] = where
            batch.append((row, enterprise, slot))
            if len(batch) >= BATCH:
                yield self._against_database(outcome, batch)
                done += len(batch)
                progress(done, total)
                batch = []
        if batch:
            yield self._against_database(outcome, batch)
            progress(done + len(batch), total)

    def _duplicate(
        self, outcome: Outcome, first: tuple[str, int], then: tuple[str, int], column: str, what: str
    ) -> None:
        def name(at: tuple[str, int]) -> str:
            return f"“{at[0]}”第 {at[1]} 行" if len(self.imported.sheets) > 1 else f"第 {at[1]} 行"

        outcome.problem(then[0], then[1], column, "ledger.duplicate", f"与{name(first)}重复：{what}")
        outcome.problem(first[0], first[1], column, "ledger.duplicate", f"与{name(then)}重复：{what}")

    def _count(self, outcome: Outcome, row: LedgerRow) -> None:
        c = outcome.counts
        if row.id_reading.upgraded:
            c["ids_upgraded"] += 1
        if row.citizen_id is None:
            c["ids_missing"] += 1
        if row.holder:
            c["held_elsewhere"] += 1
        elif row.location is None:
            c["unshelved"] += 1
        if row.entered_on is None:
            c["entry_date_missing"] += 1

    def _holder(self, outcome: Outcome, row: LedgerRow) -> int | None:
        """The registered street or custodian the ledger's 保管单位 names; a custodian's 资质 must be valid today
        (大政办发〔2017〕49号 第十六条), and a file a unit keeps has no place on the bureau's shelves."""
        if not row.holder:
            return None
        column = ledger.FIELDS["holder"].label
        unit = self.holders.get(_name_key(row.holder))
        if unit is None:
            outcome.problem(
                row.sheet, row.row, column, "holder.unknown",
                f"“{row.holder}”不是本馆登记的街道、社区或受托保管单位：请先在“街道、社区与受托保管单位”页登记",
            )  # fmt: skip
            return None
        if not units.valid_on(unit, self.today):
            outcome.problem(
                row.sheet, row.row, column, "holder.qualification_invalid",
                f"{unit.name} 的档案管理资质有效期为 {unit.valid_from} 至 {unit.valid_until}，今天不在有效期内，"
                f"不能委托其保管档案（{units.CUSTODIAN_BASIS}）",
            )  # fmt: skip
        if row.location is not None:
            outcome.problem(
                row.sheet, row.row, ledger.FIELDS["location"].label, "holder.and_location",
                f"由{unit.name}保管的档案不在本馆架上：存放位置与保管单位只能填一项",
            )  # fmt: skip
        return unit.id

    def _enterprise(self, outcome: Outcome, row: LedgerRow) -> int | str | None:
        name = row.enterprise_name or row.former_employer
        if row.credit_code and row.credit_code in self.by_code:
            return self.by_code[row.credit_code]
        key = _name_key(name)
        if key in self.by_name:
            return self.by_name[key]
        if key in self.mapped:
            return self.mapped[key]
        if key in self.created:
            return self.created[key]
        if not name:
            return None
        unknown = outcome.unknown_enterprises.get(name)
        if unknown is None:
            close = difflib.get_close_matches(key, list(self.names), n=1, cutoff=0.6)
            suggestion = self.names[close[0]] if close else None
            unknown = outcome.unknown_enterprises[name] = {
                "rows": 0,
                "credit_code": row.credit_code,
                "suggestion": {"id": suggestion[0], "name": suggestion[1]} if suggestion else None,
            }
        unknown["rows"] += 1
        hint = f"，是否即“{unknown['suggestion']['name']}”？" if unknown["suggestion"] else ""
        outcome.problem(
            row.sheet, row.row, "所属企业", "enterprise.unknown",
            f"企业“{name}”未登记：请在上方对应到已有企业或新建{hint}",
        )  # fmt: skip
        return None

    def _slot(self, outcome: Outcome, row: LedgerRow) -> int | None:
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
        new = outcome.new_units.setdefault((room_key, unit_key), _NewUnit(room.name if room else loc.room, loc.unit))
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

    def _code(self, outcome: Outcome, row: LedgerRow) -> None:
        if row.archival_code is None or self.decisions.renumber:
            outcome.counts["numbered"] += 1
            if not self.bureau.fonds_code:
                outcome.problem(row.sheet, row.row, "档号", "bureau.fonds_code", "本馆未设置全宗号，无法编制档号")
            return
        try:
            check_archival_code(row.archival_code)
            check_own_fonds(row.archival_code, self.bureau, "档号")
        except (ValueRuleError, ArchiveError) as e:
            outcome.problem(
                row.sheet, row.row, "档号", e.code, f"{e.message}；或选择“重新编号”，原档号照录可查"
            )  # fmt: skip

    def _against_database(self, outcome: Outcome, batch: list[tuple[LedgerRow, Any, Any]]) -> list[Resolved]:
        """The batch's IDs and codes against the files already held, and those on their way in a batch."""
        session = self.session
        ids = [r.citizen_id for r, _, _ in batch if r.citizen_id]
        held: dict[Any, tuple[str, str, int]] = {}
        moving: dict[Any, str] = {}
        if ids:
            # By the IDs' keyed digests (protection.py), as an `in_` on the column would compare them.
            digests = [keyed_digest(i) for i in ids]
            for citizen_id, code, name, custodian in session.execute(
                select(Retiree.citizen_id, Dossier.archival_code, Retiree.name, Dossier.custodian_id)
                .outerjoin(Dossier, Dossier.retiree_id == Retiree.id)
                .where(one_of(session, digest_of(Retiree.citizen_id), digests))
            ):
                held[citizen_id] = (code, name, custodian)
            moving = dict(
                session.execute(
                    select(TransferItem.citizen_id, TransferBatch.number)
                    .join(TransferBatch)
                    .where(
                        one_of(session, digest_of(TransferItem.citizen_id), digests),
                        TransferBatch.status.in_(OPEN),
                        TransferItem.result == ItemResult.pending,
                    )
                ).all()
            )
        codes = [r.archival_code for r, _, _ in batch if r.archival_code]
        taken: dict[Any, tuple[str, str]] = {}
        former: dict[Any, str] = {}
        if codes:
            column: Any = Dossier.former_archival_code if self.decisions.renumber else Dossier.archival_code
            query = select(column, Dossier.archival_code, Retiree.name).join(Retiree, Dossier.retiree_id == Retiree.id)
            if self.decisions.renumber:  # 原档号 are the bureau's own; 档号 are unique across the installation
                query = query.where(Dossier.custodian_id == self.bureau.id)
            for code, own_code, name in session.execute(query.where(one_of(session, column, codes))):
                taken[code] = (own_code, name)
            if not self.decisions.renumber:  # the same ledger imported before with renumbering
                former = dict(
                    session.execute(
                        select(Dossier.former_archival_code, Dossier.archival_code).where(
                            one_of(session, Dossier.former_archival_code, codes),
                            Dossier.custodian_id == self.bureau.id,
                        )
                    ).all()
                )
        good = []
        for row, enterprise, slot in batch:
            if row.citizen_id in held:
                code, name, custodian = held[row.citizen_id]
                message = (
                    f"与在馆档案 {code}（{name}）重复：公民身份号码相同"
                    if custodian == self.bureau.id
                    else "该公民身份号码已有档案登记（由他馆保管），不能重复登记"
                )
                outcome.problem(row.sheet, row.row, "公民身份号码", "citizen_id.duplicate", message)
            elif row.citizen_id in moving:
                outcome.problem(
                    row.sheet, row.row, "公民身份号码", "citizen_id.in_transfer",
                    f"该人员的档案在未办结的移交批次 {moving[row.citizen_id]} 中，不能另行登记",
                )  # fmt: skip
            if row.archival_code in taken:
                own_code, name = taken[row.archival_code]
                what = "原档号" if self.decisions.renumber else "档号"
                outcome.problem(
                    row.sheet, row.row, "档号", "archival_code.duplicate",
                    f"与在馆档案 {own_code}（{name}）重复：{what}相同",
                )  # fmt: skip
            elif row.archival_code in former:
                outcome.problem(
                    row.sheet, row.row, "档号", "archival_code.duplicate",
                    f"与在馆档案 {former[row.archival_code]} 重复：该档案的原档号即 {row.archival_code}",
                )  # fmt: skip
            if (row.sheet, row.row) not in outcome.bad and enterprise is not None:
                held_by = self.holders[_name_key(row.holder)].id if row.holder else None
                good.append(Resolved(row, enterprise, slot, held_by))
        return good


def total_rows(imported: HoldingsImport) -> int:
    return sum(s.get("rows", 0) for s in imported.sheets if not s.get("skip"))


def check_mappings(imported: HoldingsImport) -> None:
    for s in imported.sheets:
        if s.get("skip"):
            continue
        lacking = ledger.mapping_problems(s["mapping"], bool(s.get("room")))
        if lacking:
            raise ArchiveError(
                "mapping.incomplete", f"工作表“{s['name']}”的列对应缺少：{'、'.join(lacking)}", "mapping", 422
            )


def record_problems(session: Session, imported: HoldingsImport, outcome: Outcome) -> None:
    session.execute(delete(HoldingsProblem).where(HoldingsProblem.import_id == imported.id))
    order = {s["name"]: i for i, s in enumerate(imported.sheets)}
    rows = sorted(outcome.problems, key=lambda p: (order.get(p[0], 0), p[1]))
    for start in range(0, len(rows), 5000):
        session.execute(
            insert(HoldingsProblem),
            [
                {
                    "import_id": imported.id,
                    "sheet": s,
                    "row": r,
                    "column": c,
                    "code": code[:60],
                    "message": m,
                    "blocking": b,
                }
                for s, r, c, code, m, b in rows[start : start + 5000]
            ],  # fmt: skip
        )


def check_import(session: Session, import_id: int, progress: RowsDone = no_progress) -> dict[str, Any]:
    """The dry run: every problem by sheet, row and column, recorded; nothing of the ledger saved."""
    imported = session.get(HoldingsImport, import_id)
    if imported is None:
        raise NotFound("该台账导入", "import_id")
    check_mappings(imported)
    outcome = Outcome()
    walk = LedgerPass(session, imported, Decisions.of(imported))
    for _ in walk.walk(outcome, progress, total_rows(imported)):
        pass
    record_problems(session, imported, outcome)
    imported.summary = outcome.summary()
    imported.state = ImportState.checked
    imported.checked_at = utcnow()
    session.flush()
    return imported.summary
