"""存量档案导入: a bureau brings the files it already holds in from its old ledgers.

Upload (every sheet's header found, a column proposed for each field, or the mapping saved for a sheet of the
same shape) → the person corrects the mapping and decides (renumber or keep the old 档号, which enterprise an
unknown name is, whether to set up the shelving the ledger names) → a dry run lists every problem by sheet,
row and column → save all or nothing, or the good rows only (the rejected ones downloadable with a 问题
column). Saving checks every row again inside its one transaction: nothing is ever half-saved.

The ledger is read twice when saving, row by row (the first pass finds the rows with problems — a duplicate
rejects both its rows, so a row's fate is known only at the end — the second writes the good ones a
thousand at a time): what stays in memory is a few keys per row, never the rows.
"""

import hashlib
from collections import defaultdict
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive_service import workbooks
from archive_service.access.log import AccessAction, record_access
from archive_service.auth.models import User
from archive_service.auth.permissions import Action, require
from archive_service.dossiers.models import (
    Dossier,
    Retiree,
)
from archive_service.errors import ArchiveError, NotFound
from archive_service.holdings import ledger
from archive_service.holdings.checking import check_mappings, total_rows
from archive_service.holdings.decisions import Decisions
from archive_service.holdings.models import (
    HoldingsEntry,
    HoldingsImport,
    HoldingsMapping,
    HoldingsProblem,
    ImportState,
)
from archive_service.organisations.models import Organisation, OrganisationKind, OrganisationLevel
from archive_service.organisations.schemas import OrganisationIn
from archive_service.shelving import layout
from archive_service.uploads import cell_text
from archive_service.values import ValueRuleError, mask_citizen_id
from archive_service.workbooks import workbook_bytes

MAX_LEDGER_BYTES = 50 * 1024 * 1024  # a 120,000-row ledger saved as .xls is about 25 MB
SAMPLE_ROWS = 3
# ---- upload ---------------------------------------------------------------------------------------


def start_import(session: Session, user: User, data: bytes, filename: str) -> HoldingsImport:
    """Read the ledger's sheets (header, columns, a proposed or remembered mapping) and keep the file."""
    require(user, Action.import_holdings)
    if len(data) > MAX_LEDGER_BYTES:
        raise ArchiveError("file.too_large", f"台账文件超过 {MAX_LEDGER_BYTES // (1024 * 1024)} MB", "file", 413)
    sheets = [_sheet_info(session, user, sheet) for sheet in workbooks.sheets(data, filename)]
    if not any(not s["skip"] for s in sheets):
        names = "、".join(s["name"] for s in sheets) or "（无）"
        raise ArchiveError(
            "file.no_header",
            f"在工作表 {names} 的前 {ledger.HEADER_SEARCH_ROWS} 行中未找到表头（表头须有姓名等列）",
            "file",
            422,
        )
    imported = HoldingsImport(
        bureau_id=user.organisation_id,
        created_by_id=user.id,
        filename=filename.rsplit("/", 1)[-1][:200] or "台账",
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
        content=data,
        state=ImportState.uploaded,
        sheets=sheets,
        decisions={},
    )
    session.add(imported)
    session.flush()
    return imported


def _sheet_info(session: Session, user: User, sheet: workbooks.Sheet) -> dict[str, Any]:
    first: list[tuple[int, tuple[Any, ...]]] = []
    rows = 0
    for number, cells in sheet.rows():
        if len(first) <= ledger.HEADER_SEARCH_ROWS + SAMPLE_ROWS:
            first.append((number, cells))
        rows += 1
    header = ledger.find_header(first, sheet.merged)
    if header is None:
        return {"name": sheet.name, "skip": True, "note": "未找到表头", "rows": rows, "columns": [], "mapping": {}}
    saved = session.scalar(
        select(HoldingsMapping).where(
            HoldingsMapping.bureau_id == user.organisation_id, HoldingsMapping.shape == header.shape
        )
    )
    mapping = dict(header.proposed)
    source = "proposed"
    if saved is not None and all(0 <= i < len(header.columns) for i in saved.mapping.values()):
        mapping, source = dict(saved.mapping), "saved"
    located = any(k in mapping for k in ("room", "location"))
    room = sheet.name if not located and "库" in sheet.name else ""
    body = [cells for number, cells in first if number > header.row][:SAMPLE_ROWS]
    return {
        "name": sheet.name,
        "skip": False,
        "header_row": header.row,
        "columns": header.columns,
        "shape": header.shape,
        "mapping": mapping,
        "mapping_from": source,
        "room": room,
        "rows": sum(1 for n, _ in first if n > header.row) + max(rows - len(first), 0),
        "samples": [[cell_text(c) for c in cells[: len(header.columns)]] for cells in body],
    }


def get_import(session: Session, user: User, import_id: int) -> HoldingsImport:
    require(user, Action.import_holdings)
    found = session.get(HoldingsImport, import_id)
    if found is None or found.bureau_id != user.organisation_id:
        raise NotFound("该台账导入", "import_id")
    return found


def list_imports(session: Session, user: User) -> list[HoldingsImport]:
    require(user, Action.import_holdings)
    return list(
        session.scalars(
            select(HoldingsImport)
            .where(HoldingsImport.bureau_id == user.organisation_id)
            .order_by(HoldingsImport.id.desc())
            .limit(50)
        )
    )


def _changeable(imported: HoldingsImport) -> None:
    if imported.state not in (ImportState.uploaded, ImportState.checked, ImportState.refused):
        raise ArchiveError(
            "import.state", f"本台账{imported.state.label}，不能再修改", "import_id", 409
        )  # fmt: skip


def set_mapping(
    session: Session,
    user: User,
    import_id: int,
    sheet_index: int,
    mapping: dict[str, int],
    *,
    room: str = "",
    skip: bool = False,
    remember: bool = True,
) -> HoldingsImport:
    """The person's mapping of one sheet (field → column); remembered for sheets of the same shape, and
    applied at once to the other sheets of this ledger that have it."""
    imported = get_import(session, user, import_id)
    _changeable(imported)
    sheets = [dict(s) for s in imported.sheets]
    if not 0 <= sheet_index < len(sheets) or not sheets[sheet_index].get("columns"):
        raise NotFound("该工作表", "sheet")
    sheet = sheets[sheet_index]
    width = len(sheet["columns"])
    unknown = [k for k in mapping if k not in ledger.FIELDS]
    if unknown:
        raise ArchiveError("mapping.field", f"无此字段：{'、'.join(unknown)}", "mapping", 422)
    outside = [ledger.FIELDS[k].label for k, i in mapping.items() if not 0 <= i < width]
    if outside:
        raise ArchiveError("mapping.column", f"{'、'.join(outside)} 对应的列不在表中", "mapping", 422)
    twice = [i for i in set(mapping.values()) if list(mapping.values()).count(i) > 1]
    if twice:
        names = "、".join(ledger.FIELDS[k].label for k, i in mapping.items() if i == twice[0])
        raise ArchiveError(
            "mapping.twice", f"第 {twice[0] + 1} 列（{sheet['columns'][twice[0]]}）不能同时对应 {names}", "mapping", 422
        )
    room = room.strip()
    if not skip:
        lacking = ledger.mapping_problems(mapping, bool(room))
        if lacking:
            raise ArchiveError(
                "mapping.incomplete", f"工作表“{sheet['name']}”的列对应缺少：{'、'.join(lacking)}", "mapping", 422
            )
    for other in sheets:
        if other is sheet or (other.get("shape") == sheet.get("shape") and other.get("mapping_from") != "person"):
            other.update(mapping=dict(mapping), mapping_from="person" if other is sheet else "same_shape")
    sheet.update(room=room, skip=skip)
    imported.sheets = sheets
    imported.state = ImportState.uploaded  # a new mapping needs a new check
    if remember and not skip:
        saved = session.scalar(
            select(HoldingsMapping).where(
                HoldingsMapping.bureau_id == user.organisation_id, HoldingsMapping.shape == sheet["shape"]
            )
        )
        if saved is None:
            saved = HoldingsMapping(bureau_id=user.organisation_id, shape=sheet["shape"])
            session.add(saved)
        saved.headers, saved.mapping, saved.saved_by_id = list(sheet["columns"]), dict(mapping), user.id
    session.flush()
    return imported


def decide(session: Session, user: User, import_id: int, decisions: Decisions) -> HoldingsImport:
    """Record the person's choices, each checked now (an enterprise to map to exists, a new one's credit
    code is valid and not taken, areas and capacities are in range)."""
    imported = get_import(session, user, import_id)
    _changeable(imported)
    for name, enterprise_id in decisions.enterprises.items():
        org = session.get(Organisation, enterprise_id)
        if org is None or org.kind is not OrganisationKind.enterprise:
            raise ArchiveError("enterprises.unknown", f"“{name}”所对应的企业不存在", "enterprises", 422)
    for name, new in decisions.new_enterprises.items():
        try:
            OrganisationIn(
                name=name, kind=OrganisationKind.enterprise, credit_code=new.credit_code,
                region_code=new.region_code, level=OrganisationLevel(new.level),
            )  # fmt: skip
        except ValueError as e:
            message = f"新建企业“{name}”：{_first_error(e)}"
            raise ArchiveError("new_enterprises.invalid", message, "new_enterprises", 422) from None
        taken = session.scalar(select(Organisation.name).where(Organisation.credit_code == new.credit_code.upper()))
        if taken:
            raise ArchiveError(
                "new_enterprises.credit_code",
                f"统一社会信用代码 {new.credit_code} 已登记为“{taken}”，请改为对应到该企业",
                "new_enterprises",
                409,
            )
    if decisions.layer_capacity is not None:
        layout.check_range(decisions.layer_capacity, 1, 1000, "layer_capacity", "每层容量（卷）")
    for room, area in decisions.room_areas.items():
        layout.check_range(area, Decimal("0.01"), Decimal(100000), "room_areas", f"{room}使用面积（m²）")
    imported.decisions = decisions.as_json()
    imported.state = ImportState.uploaded
    session.flush()
    return imported


def _first_error(error: Exception) -> str:
    errors = getattr(error, "errors", None)
    if callable(errors):
        first = errors()[0]
        return str(first.get("msg", "")).removeprefix("Value error, ")
    return str(error)


def request_check(session: Session, user: User, import_id: int) -> HoldingsImport:
    """Queue the dry run (a job with progress)."""
    from archive_service.jobs.models import JobKind
    from archive_service.jobs.queue import enqueue

    imported = get_import(session, user, import_id)
    _changeable(imported)
    check_mappings(imported)
    imported.state = ImportState.checking
    job = enqueue(session, JobKind.holdings_check, {"import_id": imported.id}, actor=user, total=total_rows(imported))
    imported.job_id = job.id
    session.flush()
    return imported


def request_save(session: Session, user: User, import_id: int, good_rows_only: bool) -> HoldingsImport:
    """Queue the save: every row checked again, then all saved (or none), or the good rows only."""
    from archive_service.jobs.models import JobKind
    from archive_service.jobs.queue import enqueue

    imported = get_import(session, user, import_id)
    if imported.state not in (ImportState.checked, ImportState.refused):
        raise ArchiveError("import.state", "请先检查台账（试导入），再导入", "import_id", 409)
    imported.state = ImportState.saving
    params = {"import_id": imported.id, "actor_id": user.id, "good_rows_only": good_rows_only}
    job = enqueue(session, JobKind.holdings_save, params, actor=user, total=2 * total_rows(imported))
    imported.job_id = job.id
    session.flush()
    return imported


# ---- after the check and the save -----------------------------------------------------------------


def problems_of(session: Session, imported: HoldingsImport, limit: int | None = 500) -> list[HoldingsProblem]:
    query = (
        select(HoldingsProblem)
        .where(HoldingsProblem.import_id == imported.id)
        .order_by(HoldingsProblem.blocking.desc(), HoldingsProblem.id)
    )
    return list(session.scalars(query.limit(limit) if limit else query))


def rejected_workbook(session: Session, user: User, import_id: int) -> bytes:
    """The rejected rows as the ledger had them, under its own header, with a 问题 column naming every problem
    of the row: to mend and upload again. One sheet per sheet of the ledger."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    imported = get_import(session, user, import_id)
    problems: dict[tuple[str, int], list[str]] = defaultdict(list)
    for p in session.scalars(
        select(HoldingsProblem)
        .where(HoldingsProblem.import_id == imported.id, HoldingsProblem.blocking.is_(True))
        .order_by(HoldingsProblem.id)
    ):
        problems[(p.sheet, p.row)].append(f"{p.column}：{p.message}")
    if not problems:
        raise ArchiveError("rejected.none", "本台账没有未导入的行", "import_id", 404)
    sheets = {s["name"]: s for s in imported.sheets if not s.get("skip")}
    book = Workbook(write_only=True)
    for sheet in workbooks.sheets(imported.content, imported.filename, bounds_checked=True):
        info = sheets.get(sheet.name)
        if info is None or not any(k[0] == sheet.name for k in problems):
            continue
        out = book.create_sheet(sheet.name[:31])
        columns = list(info["columns"])
        out.column_dimensions["A"].width = 60  # the problems; the ledger's columns as wide as their header
        for n, text in enumerate(columns, start=2):
            out.column_dimensions[workbooks.column_letters(n)].width = max(10, min(40, workbooks.shown_width(text) + 4))
        bold = Font(bold=True)
        head = []
        for text in ["问题", *columns]:
            cell = _text_cell(out, text)
            cell.font = bold
            head.append(cell)
        out.append(head)
        for number, cells in sheet.rows():
            found = problems.get((sheet.name, number))
            if not found:
                continue
            issue = _text_cell(out, f"第 {number} 行：" + "；".join(found))
            issue.alignment = Alignment(wrap_text=True)
            out.append([issue, *(_text_cell(out, _as_written(c)) for c in cells[: len(columns)])])
    return workbook_bytes(book)


def _text_cell(sheet: Any, value: str) -> Any:
    """Every cell written as text (an ID stays 18 characters, a name is never read as a formula)."""
    from openpyxl.cell import WriteOnlyCell

    cell = WriteOnlyCell(sheet, value=value)
    cell.data_type = "s"
    cell.number_format = "@"
    return cell


def _as_written(value: Any) -> str:
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat(" ")
    return cell_text(value)


def awaiting_ids(session: Session, user: User, limit: int = 500) -> list[Dossier]:
    """The bureau's files whose citizen ID waits to be completed (a ledger without one, or unreadable)."""
    require(user, Action.view_dossiers)
    return list(
        session.scalars(
            select(Dossier)
            .join(Retiree, Dossier.retiree_id == Retiree.id)
            .where(Dossier.custodian_id == user.organisation_id, Retiree.citizen_id.is_(None))
            .order_by(Dossier.archival_code)
            .limit(limit)
        )
    )


def ledger_entry(session: Session, dossier_id: int) -> HoldingsEntry | None:
    return session.get(HoldingsEntry, dossier_id)


def complete_citizen_id(session: Session, user: User, dossier: Dossier, value: str, client: str = "") -> Retiree:
    """补录: the ID of a file that came without one. It must be valid, agree with the sex recorded, not be
    another file's; the birth date it encodes becomes the retiree's (the ledger's is kept as written)."""
    from archive_service.dossiers.service import check_not_in_another_bureaus_hands
    from archive_service.values import check_citizen_id, citizen_id_facts

    require(user, Action.import_holdings)
    retiree = dossier.retiree
    if retiree.citizen_id is not None:
        raise ArchiveError("citizen_id.present", "该档案已有公民身份号码", "citizen_id", 409)
    try:
        citizen_id = check_citizen_id(value)
    except ValueRuleError as e:
        raise ArchiveError(e.code, e.message, "citizen_id", 422) from None
    facts = citizen_id_facts(citizen_id)
    if facts.sex != retiree.sex:
        shown = {"M": "男", "F": "女"}
        raise ArchiveError(
            "citizen_id.sex_mismatch",
            f"公民身份号码所示性别为“{shown[facts.sex]}”，档案登记为“{shown[retiree.sex]}”",
            "citizen_id",
            422,
        )
    other = session.scalar(select(Dossier).join(Retiree).where(Retiree.citizen_id == citizen_id))
    if other is not None or session.scalar(select(Retiree.id).where(Retiree.citizen_id == citizen_id)):
        held = f"（{other.archival_code}）" if other is not None and other.custodian_id == user.organisation_id else ""
        raise ArchiveError("citizen_id.duplicate", f"该公民身份号码已有档案登记{held}", "citizen_id", 409)
    check_not_in_another_bureaus_hands(session, citizen_id, "citizen_id")
    before = retiree.birth_date
    retiree.citizen_id = citizen_id
    retiree.birth_date = facts.birth_date
    moved = f"；出生日期 {before.isoformat()} → {facts.birth_date.isoformat()}" if before != facts.birth_date else ""
    record_access(
        session, user, AccessAction.citizen_id_completed, client, dossier_id=dossier.id,
        detail=f"{dossier.archival_code}：补录公民身份号码 {mask_citizen_id(citizen_id)}{moved}", with_change=True,
    )  # fmt: skip
    session.flush()
    return retiree
