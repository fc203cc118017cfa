"""Entering and correcting a dossier's 卷内目录 (目录著录): typed on the dossier page, imported from the
enterprise's workbook, or accepted from the pipeline's proposal — all through `save_catalogue`.

One save is the whole list, all or nothing: every problem is named by row and field and nothing is
kept until there are none. Item numbers (份号) are assigned, never typed: a first catalogue numbers
each class in date order; once saved, an entry keeps its number and a new one takes the next after the highest
(a number freed by removing the last entry of a class may be given again in a later save).
Every save is a `CatalogueRevision` (who, when, the list before and after). For a digitised dossier
the pages are linked again from the kept sidecar (which pages are blank), without running OCR.
"""

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

import orjson
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from archive_service.auth.models import Role, User
from archive_service.auth.permissions import Action, can, require
from archive_service.db import utcnow
from archive_service.digitisation.service import latest_objects, retitle_use_copy
from archive_service.dossiers.class_schemes import SCHEMES
from archive_service.dossiers.models import (
    CatalogueRevision,
    DigitisationState,
    Dossier,
    Material,
    MaterialClass,
    sequence_of,
)
from archive_service.dossiers.service import catalogue
from archive_service.errors import ArchiveError, Forbidden
from archive_service.values import ValueRuleError, check_partial_date, check_visible
from digitise import proposal as proposal_step
from digitise.catalogue import Catalogue, CatalogueEntry, link_pages
from digitise.facts import CN_DIGITS, CN_NUM, cn_number
from storage import ObjectStore

SOURCES = {"typed": "著录", "imported": "导入", "proposal": "采纳识别建议"}
MAX_ENTRIES = 500  # one file; a real 卷内目录 has tens to a couple of hundred entries

# The fields of one entry, in the order the form and the workbook show them, with their Chinese names.
FIELDS = {
    "class_code": "类号",
    "title": "材料名称",
    "date_formed": "形成时间",
    "copies": "份数",
    "pages": "页数",
    "remarks": "备注",
    "first_page": "起始页",
    "last_page": "终止页",
}


# Usual material names by top class (1…10), for completion on the form: the same table the pipeline's
# proposal recognises (digitise/material_titles.toml), so one list of names serves both.
common_titles = proposal_step.titles_by_class


@dataclass(frozen=True)
class Problem:
    row: int  # 1-based entry of the list (the workbook's sheet row when imported)
    field: str
    code: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "row": self.row,
            "field": self.field,
            "column": FIELDS.get(self.field, self.field),
            **{"code": self.code, "message": self.message},
        }


@dataclass(frozen=True)
class Entry:
    """One checked row of a catalogue to save."""

    row: int
    material_id: int | None  # the entry it corrects; None for a new one
    material_class: MaterialClass
    title: str
    date_formed: str | None
    copies: int
    pages: int
    remarks: str
    first_page: int | None
    last_page: int | None


def may_edit(session: Session, user: User, dossier: Dossier) -> bool:
    """Who may catalogue (Action.edit_catalogue) does so for the bureau's own files; an intake clerk only
    while the file's batch is open."""
    if not can(user, Action.edit_catalogue) or dossier.custodian_id != user.organisation_id:
        return False
    if user.role is Role.intake_clerk:
        from archive_service.transfers.models import TransferBatch, TransferItem, TransferStatus

        open_batch = session.scalar(
            select(func.count())
            .select_from(TransferItem)
            .join(TransferBatch, TransferItem.batch_id == TransferBatch.id)
            .where(TransferItem.dossier_id == dossier.id, TransferBatch.status != TransferStatus.confirmed)
        )
        return bool(open_batch)
    return True


def scheme_classes(session: Session, scheme: str) -> dict[str, MaterialClass]:
    return {c.code: c for c in session.scalars(select(MaterialClass).where(MaterialClass.scheme_code == scheme))}


def check_rows(
    classes: dict[str, MaterialClass],
    scheme: str,
    rows: Sequence[dict[str, Any]],
    own: set[int] | frozenset[int] = frozenset(),
) -> tuple[list[Entry], list[Problem]]:
    """Every problem of every row at once; the entries only when there are none. A row is numbered by its
    place in the list, or by its `_row` (the sheet row of an imported workbook)."""
    entries: list[Entry] = []
    problems: list[Problem] = []
    if len(rows) > MAX_ENTRIES:
        first = rows[0].get("_row", 1) if rows else 1
        problems.append(Problem(first, "materials", "catalogue.too_long", f"一份档案的目录最多 {MAX_ENTRIES} 条"))
        return [], problems
    seen_ids: set[int] = set()
    for place, raw in enumerate(rows, start=1):
        n = int(raw.get("_row", place))
        found: list[Problem] = []

        def fail(field: str, code: str, message: str, n: int = n, found: list[Problem] = found) -> None:
            found.append(Problem(n, field, code, message))

        for key in ("title", "remarks"):  # free text (the other cells are codes, dates and numbers)
            try:
                check_visible(_text(raw.get(key)))
            except ValueRuleError as e:
                fail(key, e.code, e.message)
        material_id = _int_or_none(raw.get("id"))
        if material_id is not None and (material_id not in own or material_id in seen_ids):
            fail("id", "material.unknown", f"第 {n} 条所改的目录条目不属于本档案或重复出现")
        if material_id is not None:
            seen_ids.add(material_id)
        code = _text(raw.get("class_code")).replace("第", "").replace("类", "")
        code = str(cn_number(code)) if re.fullmatch(rf"[{CN_NUM}]{{1,2}}", code) else code
        material_class = classes.get(code)
        if not code:
            fail("class_code", "class_code.required", "类号必填")
        elif material_class is None:
            named = SCHEMES[scheme][0] if scheme in SCHEMES else scheme  # the scheme's name, not its key
            fail("class_code", "class_code.unknown", f"类号“{code}”不属于本档案的分类方案（{named}）")
        title = _text(raw.get("title"))
        if not title:
            fail("title", "title.required", "材料名称必填")
        elif len(title) > 200:
            fail("title", "title.length", "材料名称最多 200 字")
        date_formed = None
        if _text(raw.get("date_formed")):
            try:
                date_formed = check_partial_date(normalise_partial_date(_text(raw.get("date_formed"))))
            except ValueRuleError as e:
                fail("date_formed", e.code, e.message + "（如 1978、1978.9、1978.9.1）")
        counts: dict[str, int | None] = {}
        for key, required in (("copies", False), ("pages", True), ("first_page", False), ("last_page", False)):
            text = _text(raw.get(key))
            if not text:
                if required:
                    fail(key, f"{key}.required", f"{FIELDS[key]}必填")
                counts[key] = 1 if key == "copies" else None
            elif not re.fullmatch(r"\d{1,5}", text) or int(text) < 1:
                fail(key, f"{key}.positive", f"{FIELDS[key]}应为不小于 1 的整数，实为“{text}”")
                counts[key] = None
            else:
                counts[key] = int(text)
        first, last = counts["first_page"], counts["last_page"]
        if (first is None) != (last is None) and not any(p.field in ("first_page", "last_page") for p in found):
            fail("first_page" if first is None else "last_page", "page_range.partial", "起止页须同时填写或同时不填")
        elif first is not None and last is not None and last < first:
            fail("last_page", "page_range.order", f"终止页 {last} 小于起始页 {first}")
        remarks = _text(raw.get("remarks"))[:200]
        if found:
            problems.extend(found)
            continue
        assert material_class is not None and counts["pages"] is not None and counts["copies"] is not None
        entries.append(
            Entry(
                n,
                material_id,
                material_class,
                title,
                date_formed,
                counts["copies"],
                counts["pages"],
                remarks,
                first,
                last,
            )
        )
    return (entries if not problems else []), problems


def save_catalogue(
    session: Session,
    store: ObjectStore | None,
    user: User,
    dossier: Dossier,
    rows: Sequence[dict[str, Any]],
    *,
    source: str = "typed",
) -> list[Material]:
    """Replace the dossier's catalogue with `rows` (all or nothing) and record the revision. `source` says
    how the list came: typed, imported (the enterprise's workbook) or proposal (accepted from the pages)."""
    if source not in SOURCES:
        raise ArchiveError("catalogue.source", f"目录来源应为 {'、'.join(SOURCES)} 之一", "source", 422)
    require(user, Action.edit_catalogue)
    if not may_edit(session, user, dossier):
        raise Forbidden("只有档案员可以修改目录；接收员只能在移交批次办结前著录")
    own = {m.id for m in dossier.materials}
    entries, problems = check_rows(scheme_classes(session, dossier.class_scheme), dossier.class_scheme, rows, own)
    if not problems:
        problems = _kept_supplements(session, dossier, entries) or link_to_copy(session, store, dossier, entries)
    if problems:
        raise catalogue_error(problems)
    record(session, store, user, [(dossier, entries)], source)
    return catalogue(dossier)


def record(
    session: Session,
    store: ObjectStore | None,
    user: User,
    checked: Sequence[tuple[Dossier, list[Entry]]],
    source: str,
) -> None:
    """Save checked catalogues (one or a whole batch's) and a revision of each. First catalogues — the bulk of
    a batch import, 10,000 rows — are written in one executemany each for materials and revisions; changes to
    existing ones go through the ORM, which keeps the entries' identities. A digitised dossier whose
    materials or page ranges changed gets a use copy with the new bookmarks."""
    bookmarked = {d.id: _bookmarked(d) for d, _ in checked if d.digitisation is DigitisationState.done}
    firsts = [(d, e) for d, e in checked if not d.materials]
    changed = [(d, e) for d, e in checked if d.materials]  # before the first ones are written
    if firsts:
        _record_first(session, user, firsts, source)
    if changed:
        _record_changes(session, user, changed, source)
    for dossier, _ in checked:
        if dossier.id in bookmarked and _bookmarked(dossier) != bookmarked[dossier.id]:
            assert store is not None, "a digitised dossier's copy is in the store"
            retitle_use_copy(session, store, dossier)


def _bookmarked(dossier: Dossier) -> list[tuple[str, str, str, int | None, int | None]]:
    """What of the catalogue a use copy shows (its bookmarks) or serves by (the page ranges)."""
    return [(m.sequence, m.material_class.code, m.title, m.first_page, m.last_page) for m in catalogue(dossier)]


def _record_changes(session: Session, user: User, changed: Sequence[tuple[Dossier, list[Entry]]], source: str) -> None:
    befores = []
    for dossier, entries in changed:
        befores.append(([_snapshot(m) for m in catalogue(dossier)], dossier.pages))
        _apply(session, dossier, entries)
    session.flush()  # the new entries get their ids, which the revisions record
    for (dossier, _), (before, pages_before) in zip(changed, befores, strict=True):
        note = _page_count_note(pages_before, dossier.pages)
        after = [_snapshot(m) for m in catalogue(dossier)]
        session.add(
            CatalogueRevision(
                dossier_id=dossier.id, actor_id=user.id, source=source, before=before, after=after, note=note
            )
        )
    session.flush()


def _page_count_note(pages_before: int | None, pages_after: int) -> str:
    # A count that changes after receipt is a discrepancy on record, never a silent overwrite.
    if pages_before and pages_after != pages_before:
        return f"页数不符：原记 {pages_before} 页，目录合计 {pages_after} 页"
    return ""


def _record_first(session: Session, user: User, firsts: Sequence[tuple[Dossier, list[Entry]]], source: str) -> None:
    """First catalogues as rows, not ORM objects: 份号 in date order within each class, entries in class order
    then date (the rules of `_apply` for a first catalogue), inserted with one executemany."""
    rows: list[dict[str, Any]] = []
    notes: dict[int, str] = {}
    for dossier, entries in firsts:
        used: dict[int, int] = {}
        made = []
        for e in sorted(entries, key=_numbering_order):
            used[e.material_class.id] = used.get(e.material_class.id, 0) + 1
            made.append({
                "dossier_id": dossier.id, "material_class_id": e.material_class.id,
                "item_no": used[e.material_class.id], "title": e.title, "date_formed": e.date_formed,
                "copies": e.copies, "pages": e.pages, "remarks": e.remarks, "first_page": e.first_page,
                "last_page": e.last_page, "added_after_handover": False, "_class": e.material_class,
            })  # fmt: skip
        made.sort(key=lambda r: _position(r["_class"].sort_key, r["date_formed"], r["item_no"]))
        for position, r in enumerate(made):
            r["sort_key"] = position
        pages = sum(r["pages"] for r in made)
        notes[dossier.id] = _page_count_note(dossier.pages, pages)
        dossier.pages = pages
        rows.extend(made)
    if rows:
        session.execute(insert(Material.__table__), [{k: v for k, v in r.items() if k != "_class"} for r in rows])
    ids = {
        (dossier_id, sort_key): material_id
        for material_id, dossier_id, sort_key in session.execute(
            select(Material.id, Material.dossier_id, Material.sort_key).where(
                Material.dossier_id.in_([d.id for d, _ in firsts])
            )
        )
    }
    after: dict[int, list[dict[str, Any]]] = {d.id: [] for d, _ in firsts}
    for r in rows:
        material_id = ids[(r["dossier_id"], r["sort_key"])]
        after[r["dossier_id"]].append(_snapshot_of(material_id, r["_class"].code, r["item_no"], r))
    now = utcnow()
    session.execute(
        insert(CatalogueRevision.__table__),
        [
            {"dossier_id": d.id, "at": now, "actor_id": user.id, "source": source, "before": [],
             "after": after[d.id], "note": notes[d.id]}
            for d, _ in firsts
        ],
    )  # fmt: skip
    for dossier, _ in firsts:
        session.expire(dossier, ["materials"])  # read again from the rows just written


def catalogue_error(problems: Sequence[Problem]) -> ArchiveError:
    return ArchiveError.listing("catalogue.invalid", "目录", [p.as_dict() for p in problems], "materials", "条")


def form_rows(dossier: Dossier) -> list[dict[str, str]]:
    """The catalogue as the dossier page's form shows it (every value as typed text)."""
    return [
        {
            "id": str(m.id), "class_code": m.material_class.code, "title": m.title,
            "date_formed": _dotted(m.date_formed),
            "copies": str(m.copies), "pages": str(m.pages), "remarks": m.remarks,
            "first_page": str(m.first_page or ""), "last_page": str(m.last_page or ""), "sequence": m.sequence,
        }
        for m in catalogue(dossier)
    ]  # fmt: skip


def proposal(session: Session, store: ObjectStore, dossier: Dossier) -> list[dict[str, Any]]:
    """The catalogue the pipeline proposed from the pages of the latest digitised copy (none if not digitised).
    As form rows: the archivist accepts, edits or merges them and saves; nothing enters unconfirmed."""
    if dossier.digitisation is not DigitisationState.done:
        return []
    from archive_service.digitisation.service import latest_objects

    sidecar = latest_objects(session, dossier, "sidecar")
    if not sidecar:
        return []
    card = orjson.loads(b"".join(store.open(sidecar[-1].storage_key)))
    return [
        {
            "id": "", "class_code": m["class"], "title": m["title"],
            "date_formed": (m.get("date") or "").replace("-", "."), "copies": "1", "pages": str(m["pages"]),
            "remarks": "", "first_page": str(m["first_page"]), "last_page": str(m["last_page"]),
        }
        for m in card.get("proposed_catalogue", [])
    ]  # fmt: skip


def _dotted(date_formed: str | None) -> str:
    """19780901 → 1978.09.01: a partial date as files write it, which the form reads back."""
    d = date_formed or ""
    return ".".join(x for x in (d[:4], d[4:6], d[6:8]) if x)


def revisions(session: Session, dossier: Dossier) -> Sequence[CatalogueRevision]:
    return session.scalars(
        select(CatalogueRevision).where(CatalogueRevision.dossier_id == dossier.id).order_by(CatalogueRevision.id)
    ).all()


# ---- inside one save ----------------------------------------------------------------------------


def _kept_supplements(session: Session, dossier: Dossier, entries: list[Entry]) -> list[Problem]:
    """A material that came in through a reviewed supplement (材料补充) stays in the catalogue: its review
    record points at it. Its entry can be corrected, not removed."""
    from archive_service.transfers.models import MaterialSupplement

    kept = {e.material_id for e in entries}
    removed = {m.id: m for m in dossier.materials if m.id not in kept}
    if not removed:
        return []
    reviewed = session.scalars(
        select(MaterialSupplement.material_id).where(MaterialSupplement.material_id.in_(removed))
    )
    return [
        Problem(1, "materials", "material.supplement_kept",
                f"{removed[i].sequence} {removed[i].title} 是经审核归档的补充材料，只能修改，不能从目录中删除")
        for i in sorted(set(reviewed))
    ]  # fmt: skip


def link_to_copy(session: Session, store: ObjectStore | None, dossier: Dossier, entries: list[Entry]) -> list[Problem]:
    """For a digitised dossier: typed page ranges are checked against the copy; untyped ones are linked
    from the page counts and the sidecar's blank pages (the pipeline's own rule), without OCR."""
    if dossier.digitisation is not DigitisationState.done:
        return [
            Problem(e.row, "first_page", "page_range.not_digitised", "档案尚未数字化，不能填写起止页")
            for e in entries
            if e.first_page is not None
        ]
    assert store is not None, "a digitised dossier's pages are linked from its sidecar in the store"
    sidecar = latest_objects(session, dossier, "sidecar")
    card = orjson.loads(b"".join(store.open(sidecar[-1].storage_key)))
    blank = [bool(p.get("blank")) for p in card["pages"]]
    typed = [e for e in entries if e.first_page is not None]
    if typed:
        problems = []
        if len(typed) != len(entries):
            problems.append(
                Problem(
                    entries[0].row, "first_page", "page_range.partial", "起止页须每条都填，或都不填（按页数自动挂接）"
                )
            )
        covered: dict[int, int] = {}
        for e in typed:
            assert e.first_page is not None and e.last_page is not None
            if e.last_page > len(blank):
                problems.append(
                    Problem(
                        e.row,
                        "last_page",
                        "page_range.beyond_copy",
                        f"终止页 {e.last_page} 超出数字副本的 {len(blank)} 页",
                    )
                )
                continue
            for p in range(e.first_page, e.last_page + 1):
                if p in covered:
                    problems.append(
                        Problem(e.row, "first_page", "page_range.overlap", f"第 {p} 页已属于第 {covered[p]} 条")
                    )
                    break
                covered[p] = e.row
        return problems
    linked, findings = link_pages(
        Catalogue(
            dossier.archival_code,
            tuple(CatalogueEntry(str(i), e.material_class.code, "", e.title, e.pages) for i, e in enumerate(entries)),
        ),
        blank,
    )
    if findings:
        return [Problem(entries[0].row if entries else 1, "pages", "page_count.mismatch", findings[0].message)]
    for i, pages in enumerate(linked):
        entries[i] = replace(entries[i], first_page=pages.first_page, last_page=pages.last_page)
    return []


def _apply(session: Session, dossier: Dossier, entries: list[Entry]) -> None:
    existing = {m.id: m for m in dossier.materials}
    first_catalogue = not existing
    # The highest number per class among the entries before this save (kept or removed): new entries follow it.
    used: dict[int, int] = {}
    for m in existing.values():
        used[m.material_class_id] = max(used.get(m.material_class_id, 0), m.item_no)
    kept_ids = {e.material_id for e in entries if e.material_id is not None}
    removed = [m for m in dossier.materials if m.id not in kept_ids]
    for m in removed:
        dossier.materials.remove(m)
    if removed:
        session.flush()  # removals first, so no number is briefly held twice
    order = sorted(entries, key=_numbering_order) if first_catalogue else entries
    for e in order:
        m = existing.get(e.material_id) if e.material_id is not None else None
        if m is None or m.material_class_id != e.material_class.id:
            used[e.material_class.id] = used.get(e.material_class.id, 0) + 1
            item_no = used[e.material_class.id]
        else:
            item_no = m.item_no
        if m is None:
            m = Material(sort_key=0, added_after_handover=False)
            dossier.materials.append(m)
        m.material_class, m.material_class_id, m.item_no = e.material_class, e.material_class.id, item_no
        m.title, m.date_formed, m.copies, m.pages, m.remarks = e.title, e.date_formed, e.copies, e.pages, e.remarks
        m.first_page, m.last_page = e.first_page, e.last_page
    ordered = sorted(dossier.materials, key=lambda m: _position(m.material_class.sort_key, m.date_formed, m.item_no))
    for position, m in enumerate(ordered):
        m.sort_key = position
    dossier.pages = sum(m.pages for m in dossier.materials)


UNDATED = "99999999"  # an undated material sorts after the dated ones


def _numbering_order(e: Entry) -> tuple[str, int]:
    """份号 of a first catalogue follow the date formed, then the order the entries came in."""
    return (e.date_formed or UNDATED, e.row)


def _position(class_sort_key: int, date_formed: str | None, item_no: int) -> tuple[int, str, int]:
    """An entry's place in the catalogue: class order, then date formed, then 份号 (STANDARDS §3.4)."""
    return (class_sort_key, date_formed or UNDATED, item_no)


SNAPSHOT_FIELDS = ("title", "date_formed", "copies", "pages", "remarks", "first_page", "last_page")


def _snapshot(m: Material) -> dict[str, Any]:
    return _snapshot_of(m.id, m.material_class.code, m.item_no, {k: getattr(m, k) for k in SNAPSHOT_FIELDS})


def _snapshot_of(material_id: int, class_code: str, item_no: int, values: dict[str, Any]) -> dict[str, Any]:
    """An entry as a revision records it (before and after lists)."""
    return {
        "id": material_id,
        "sequence": sequence_of(class_code, item_no),
        "class_code": class_code,
        **{k: values[k] for k in SNAPSHOT_FIELDS},
    }


# ---- cells as people type them ------------------------------------------------------------------

def normalise_partial_date(text: str) -> str:
    """1978年9月1日, 1978.9.1, 1978-09, 1978/9, 19780901, 一九七八年九月 → YYYY[MM[DD]]."""
    t = text.strip()
    if re.fullmatch(rf"[{CN_NUM}]{{4}}年.*", t):  # the numerals as digitise.facts reads them on pages
        t = "".join(str(CN_DIGITS.get(c, c)) for c in t[:4]) + t[4:]
        t = re.sub(rf"[{CN_NUM}]+", lambda m: str(cn_number(m[0])), t)
    m = re.fullmatch(r"(\d{4})(?:[.\-/年](\d{1,2})(?:[.\-/月](\d{1,2})日?)?月?)?年?", t)
    if m:
        return m[1] + (f"{int(m[2]):02d}" if m[2] else "") + (f"{int(m[3]):02d}" if m[3] else "")
    return t


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime | date):  # a date cell of a workbook
        return value.strftime("%Y.%m.%d")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _int_or_none(value: Any) -> int | None:
    text = _text(value)
    return int(text) if re.fullmatch(r"\d{1,9}", text) else None
