"""The pass over a ledger: every row read (ledger_rows.py) and checked against the others — a duplicate names
both its rows — and against the database: enterprises by credit code or name, the streets and custodians that
keep files for the bureau, the 档号 the bureau's series allows, the shelving the ledger names (locations.py),
the files already held and those on their way in an open batch (duplicates.py). The dry run and the save
both walk it; what it found is an Outcome (outcome.py), the person's choices are Decisions (decisions.py).
"""

import difflib
import pickle
import tempfile
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive_service import workbooks
from archive_service.db import bureau_today, utcnow
from archive_service.dossiers.service import check_own_fonds
from archive_service.errors import ArchiveError, NotFound
from archive_service.holdings import ledger
from archive_service.holdings.decisions import Decisions
from archive_service.holdings.duplicates import SeenInLedger, against_database
from archive_service.holdings.ledger_cells import as_compared
from archive_service.holdings.ledger_rows import LedgerRow, RowProblem, read_row
from archive_service.holdings.locations import LedgerShelving
from archive_service.holdings.models import HoldingsImport, ImportState
from archive_service.holdings.outcome import Outcome, record_problems
from archive_service.organisations import units
from archive_service.organisations.models import BureauUnit, Organisation, OrganisationKind
from archive_service.values import ValueRuleError, check_archival_code

BATCH = 1000  # rows checked against the database, and written, at a time
RowsDone = Callable[[int, int], None]  # (rows done, rows in all)


def no_progress(_done: int, total_rows: int) -> None:
    return None


@lru_cache(maxsize=4096)  # asked on every row; a ledger names a few hundred enterprises
def _name_key(name: str) -> str:
    """Enterprise names as compared: full-width and half-width alike, no spaces, brackets alike."""
    return as_compared(unicodedata.normalize("NFKC", name))


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
        self.session, self.imported, self.decisions = session, imported, decisions
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
        self.shelving = LedgerShelving(session, bureau, decisions, saving=saving)
        self.holders = {
            _name_key(u.name): u for u in session.scalars(select(BureauUnit).where(BureauUnit.bureau_id == bureau.id))
        }

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
        seen = SeenInLedger(several_sheets=len(self.imported.sheets) > 1)
        batch: list[tuple[LedgerRow, int | str | None, Any]] = []
        for filled, row, problems in self.rows() if rows is None else rows:
            if filled <= 1 and not row.name:  # a lone cell under the table: a total, a signature
                continue
            outcome.rows += 1
            for p in problems:
                outcome.problem(row.sheet, row.row, p.column, p.code, p.message, p.blocking)
            self._count(outcome, row)
            enterprise = self._enterprise(outcome, row)
            slot = self.shelving.slot(outcome, row)
            self._holder(outcome, row)
            self._code(outcome, row)
            seen.see(outcome, row)
            batch.append((row, enterprise, slot))
            if len(batch) >= BATCH:
                yield self._against_database(outcome, batch)
                done += len(batch)
                progress(done, total)
                batch = []
        if batch:
            yield self._against_database(outcome, batch)
            progress(done + len(batch), total)

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
        """The batch against the files already held and on their way in; its rows with no problem so far."""
        against_database(self.session, self.bureau.id, self.decisions.renumber, outcome, [r for r, _, _ in batch])
        good = []
        for row, enterprise, slot in batch:
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
