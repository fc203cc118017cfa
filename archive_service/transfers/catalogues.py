"""A batch's 卷内目录 workbook: the enterprise's catalogue of every file it hands over, one row per
material, keyed by 档号 or 公民身份号码. Imported at registration or later, all or nothing like the
register. A file already received gets its catalogue at once (a revision like a typed one); a file
still to come keeps it on its register row and gets it the moment it is received.
"""

from collections import defaultdict
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from archive_service.auth.models import User
from archive_service.auth.permissions import Action, require
from archive_service.dossiers import catalogue as cat
from archive_service.dossiers import catalogue_rows
from archive_service.dossiers.models import Dossier
from archive_service.errors import ArchiveError, NotFound
from archive_service.transfers import register
from archive_service.transfers.models import TransferBatch, TransferItem, TransferStatus
from archive_service.uploads import cell_text
from archive_service.workbooks import fit_every_sheet, text_column, workbook_bytes
from storage import ObjectStore

SCHEME = "enterprise-1992"  # files received from enterprises are catalogued in the enterprise scheme
KEY_HEADERS = ("档号", "公民身份号码")
HEADERS = (*KEY_HEADERS, "类号", "材料名称", "形成时间", "份数", "页数", "备注")
FIELD_OF = {
    "类号": "class_code",
    "材料名称": "title",
    "形成时间": "date_formed",
    "份数": "copies",
    "页数": "pages",
    "备注": "remarks",
}
COLUMN_OF = {v: k for k, v in FIELD_OF.items()}


def template_xlsx() -> bytes:
    """The 卷内目录 workbook: its headers, a sheet of notes and one of the usual material names (no example
    row in the data sheet, so nothing of the template can be imported as a file's material)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    sheet.title = "卷内目录"
    sheet.append(list(HEADERS))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    notes = book.create_sheet("填写说明")
    for line in (
        ("档号 / 公民身份号码", "二者填一即可，须与移交名册中的一行相符"),
        ("类号", "1–10（第一类 … 第十类），见“常用材料名称”"),
        ("材料名称", "如 职工登记表、职工退休审批表"),
        ("形成时间", "1978、1978.9 或 1978.9.1"),
        ("份数", "可空，默认 1"),
        ("页数", "必填，不含空白背面"),
        ("", "每份材料一行；同一档案的各行可不相邻；份号由系统按类和形成时间编定"),
    ):
        notes.append(list(line))
    titles = book.create_sheet("常用材料名称")
    for n, names in catalogue_rows.common_titles().items():
        titles.append([n, *names])
    # Typed into a General cell, 档号 and ID lose digits and 1978.10 becomes the number 1978.1 (January).
    for header in ("档号", "公民身份号码", "形成时间"):
        text_column(sheet, HEADERS.index(header) + 1, 2, register.TEMPLATE_ROWS)
    fit_every_sheet(book)
    return workbook_bytes(book)


def import_workbook(
    session: Session, store: ObjectStore, user: User, batch_id: int, data: bytes, filename: str
) -> dict[str, int]:
    """Check every row; save the catalogues only when no row has a problem. Returns what was done."""
    require(user, Action.edit_catalogue)
    batch = session.get(TransferBatch, batch_id)
    if batch is None or batch.to_org_id != user.organisation_id:
        raise NotFound("该移交批次", "batch_id")
    # Every file here came with this open batch to the user's bureau: whoever may catalogue (an archivist,
    # or an intake clerk while the batch is open — cat.may_edit) may catalogue all of them.
    if batch.status is TransferStatus.confirmed:
        raise ArchiveError("batch.closed", f"批次 {batch.number} 已办结，请在档案页修改目录", "batch_id", 409)
    rows = register.read_sheet(data, filename, HEADERS, "卷内目录")
    by_code = {i.archival_code: i for i in batch.items if i.archival_code}
    by_id = {i.citizen_id: i for i in batch.items}
    held = session.scalars(
        select(Dossier)
        .where(Dossier.id.in_([i.dossier_id for i in batch.items if i.dossier_id]))
        .options(selectinload(Dossier.materials))
    ).all()
    by_dossier = {d.id: d for d in held}
    dossiers = {i.id: by_dossier[i.dossier_id] for i in batch.items if i.dossier_id in by_dossier}
    for taken_in in batch.items:  # a received file gets its 档号 on receipt
        if taken_in.id in dossiers:
            by_code.setdefault(dossiers[taken_in.id].archival_code, taken_in)
    problems: list[catalogue_rows.Problem] = []
    per_item: dict[int, list[dict[str, Any]]] = defaultdict(list)
    items: dict[int, TransferItem] = {}
    for line, cells in rows:
        code = cell_text(cells["档号"]).upper()
        citizen_id = cell_text(cells["公民身份号码"]).upper()
        item = by_code.get(code) if code else by_id.get(citizen_id) if citizen_id else None
        if item is None:
            field = "档号" if code or not citizen_id else "公民身份号码"
            message = (
                f"本批次名册中没有{'档号 ' + code if code else '公民身份号码 ' + citizen_id}"
                if code or citizen_id
                else "档号和公民身份号码须填其一"
            )
            problems.append(catalogue_rows.Problem(line, field, "catalogue.file_unknown", message))
            continue
        items[item.id] = item
        per_item[item.id].append({"_row": line, **{FIELD_OF[h]: cells[h] for h in FIELD_OF}})
    classes = catalogue_rows.scheme_classes(session, SCHEME)
    checked: dict[int, list[catalogue_rows.Entry]] = {}
    for item_id, item_rows in per_item.items():
        dossier = dossiers.get(item_id)
        if dossier is not None and dossier.materials:
            problems.append(
                catalogue_rows.Problem(
                    item_rows[0]["_row"],
                    "档号",
                    "catalogue.exists",
                    f"{dossier.archival_code} 已有目录，请在档案页上修改，导入不覆盖",
                )
            )
            continue
        entries, found = catalogue_rows.check_rows(classes, dossier.class_scheme if dossier else SCHEME, item_rows)
        problems.extend(found)
        checked[item_id] = entries
    if problems:
        problems.sort(key=lambda p: p.row)
        raise _sheet_error(problems)
    received: list[tuple[Dossier, list[catalogue_rows.Entry]]] = []
    for item_id, item_rows in per_item.items():
        dossier = dossiers.get(item_id)
        if dossier is None:  # still to come: kept on its register row until it is received
            items[item_id].catalogue = [{k: v for k, v in r.items() if k != "_row"} for r in item_rows]
            continue
        link_problems = cat.link_to_copy(session, store, dossier, checked[item_id])
        if link_problems:
            raise _sheet_error(link_problems)  # entries carry their sheet rows
        received.append((dossier, checked[item_id]))
    cat.record(session, store, user, received, "imported")
    return {
        "files": len(per_item),
        "catalogued": len(received),
        "waiting_for_receipt": len(per_item) - len(received),
        "materials": sum(len(r) for r in per_item.values()),
    }


def import_for_held_files(
    session: Session, store: ObjectStore, user: User, data: bytes, filename: str
) -> dict[str, int]:
    """The same workbook for files the bureau already holds without a catalogue (those its old ledger brought
    in, 存量档案导入): each row's file found by 档号 — its own or its 原档号 — or by 公民身份号码; every row checked by
    the same rules, all saved or none. A file that has a catalogue is refused (an import never overwrites)."""
    from archive_service.dossiers.models import Retiree

    require(user, Action.edit_catalogue)
    rows = register.read_sheet(data, filename, HEADERS, "卷内目录")
    codes = {cell_text(c["档号"]).upper() for _, c in rows} - {""}
    ids = {cell_text(c["公民身份号码"]).upper() for _, c in rows} - {""}
    held = select(Dossier).where(Dossier.custodian_id == user.organisation_id).options(selectinload(Dossier.materials))
    by_code: dict[str, Dossier] = {}
    by_id: dict[str, Dossier] = {}
    for start in range(0, max(len(codes), len(ids)), 1000):
        some_codes, some_ids = sorted(codes)[start : start + 1000], sorted(ids)[start : start + 1000]
        for d in session.scalars(held.where(Dossier.archival_code.in_(some_codes))):
            by_code[d.archival_code] = d
        for d in session.scalars(held.where(Dossier.former_archival_code.in_(some_codes))):
            by_code.setdefault(d.former_archival_code or "", d)
        for d in session.scalars(held.join(Retiree).where(Retiree.citizen_id.in_(some_ids))):
            by_id[d.retiree.citizen_id or ""] = d
    problems: list[catalogue_rows.Problem] = []
    per_dossier: dict[int, list[dict[str, Any]]] = defaultdict(list)
    dossiers: dict[int, Dossier] = {}
    for line, cells in rows:
        code, citizen_id = cell_text(cells["档号"]).upper(), cell_text(cells["公民身份号码"]).upper()
        dossier = by_code.get(code) if code else by_id.get(citizen_id) if citizen_id else None
        if dossier is None:
            field = "档号" if code or not citizen_id else "公民身份号码"
            message = (
                f"本馆没有{'档号（或原档号）' + code if code else '公民身份号码为 ' + citizen_id}的档案"
                if code or citizen_id
                else "档号和公民身份号码须填其一"
            )
            problems.append(catalogue_rows.Problem(line, field, "catalogue.file_unknown", message))
            continue
        dossiers[dossier.id] = dossier
        per_dossier[dossier.id].append({"_row": line, **{FIELD_OF[h]: cells[h] for h in FIELD_OF}})
    classes = catalogue_rows.scheme_classes(session, SCHEME)
    checked: list[tuple[Dossier, list[catalogue_rows.Entry]]] = []
    for dossier_id, dossier_rows in per_dossier.items():
        dossier = dossiers[dossier_id]
        if dossier.materials:
            message = f"{dossier.archival_code} 已有目录，请在档案页上修改，导入不覆盖"
            problems.append(catalogue_rows.Problem(dossier_rows[0]["_row"], "档号", "catalogue.exists", message))
            continue
        scheme_classes = classes if dossier.class_scheme == SCHEME else catalogue_rows.scheme_classes(
            session, dossier.class_scheme
        )  # fmt: skip
        entries, found = catalogue_rows.check_rows(scheme_classes, dossier.class_scheme, dossier_rows)
        problems.extend(found)
        if not found:
            problems.extend(cat.link_to_copy(session, store, dossier, entries))
            checked.append((dossier, entries))
    if problems:
        problems.sort(key=lambda p: p.row)
        raise _sheet_error(problems)
    cat.record(session, store, user, checked, "imported")
    return {"files": len(checked), "materials": sum(len(e) for _, e in checked)}


def apply_waiting(session: Session, user: User, item: TransferItem, dossier: Dossier) -> None:
    """On receipt: the catalogue imported ahead of the volume becomes the dossier's first catalogue
    (a file just received has no digital copy, so no store is needed to link pages)."""
    if item.catalogue:
        item.dossier_id = dossier.id  # the file is this item's from now on (the clerk's right to catalogue it)
        cat.save_catalogue(session, None, user, dossier, item.catalogue, source="imported")


def _sheet_error(problems: list[catalogue_rows.Problem]) -> ArchiveError:
    shown = [
        {"row": p.row, "column": COLUMN_OF.get(p.field, p.field), "code": p.code, "message": p.message}
        for p in problems
    ]
    return ArchiveError.listing("catalogue.invalid", "卷内目录", shown, "file")
