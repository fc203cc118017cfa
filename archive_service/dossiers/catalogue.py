"""Entering and correcting a dossier's 卷内目录 (目录著录): typed on the dossier page, imported from the
enterprise's workbook, or accepted from the pipeline's proposal — all through `save_catalogue`.

One save is the whole list, all or nothing: every problem is named by row and field and nothing is
kept until there are none. Item numbers (份号) are assigned, never typed: a first catalogue numbers
each class in date order; once saved, an entry keeps its number and a new one takes the next after the highest
(a number freed by removing the last entry of a class may be given again in a later save).
Every save is a `CatalogueRevision` (who, when, the list before and after). For a digitised dossier
the pages are linked again from the kept sidecar (which pages are blank), without running OCR.
"""

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from archive_service.auth.models import Role, User
from archive_service.auth.permissions import Action, can, require
from archive_service.db import utcnow
from archive_service.digitisation.service import latest_sidecar, retitle_use_copy
from archive_service.dossiers.catalogue_rows import Entry, Problem, catalogue_error, check_rows, scheme_classes
from archive_service.dossiers.models import (
    CatalogueRevision,
    DigitisationState,
    Dossier,
    Material,
    sequence_of,
)
from archive_service.dossiers.service import catalogue, catalogue_position, put_in_catalogue_order
from archive_service.errors import ArchiveError, Forbidden
from archive_service.values import formed_order, written_partial_date
from digitise.catalogue import Catalogue, CatalogueEntry, link_pages
from storage import ObjectStore

SOURCES = {"typed": "著录", "imported": "导入", "proposal": "采纳识别建议"}
# How a revision came about, as its record names it: a save, or a misfiled page taken out (digitisation/misfiled.py).
REVISION_SOURCES = SOURCES | {"page_removed": "移出他人材料"}


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
        named = "、".join(f"{label}（{key}）" for key, label in SOURCES.items())
        raise ArchiveError("catalogue.source", f"目录来源应为 {named} 之一", "source", 422)
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


def take_out_page(session: Session, user: User, dossier: Dossier, material: Material, drop_entry: bool) -> str:
    """Another person's page is taken out of the file: its entry has one page fewer — or, when it was the
    entry's only page, the entry leaves the catalogue (the whole material was another person's), which the
    caller must have asked for. One revision records it; the words say what changed."""
    before = [_snapshot(m) for m in catalogue(dossier)]
    if material.pages > 1:
        material.pages -= 1
        change = f"{material.sequence} {material.title} 页数 {material.pages + 1} → {material.pages}"
    else:
        assert drop_entry, "an entry is emptied only when the archivist said so"
        change = f"{material.sequence} {material.title} 整份为他人材料，从卷内目录删除"
        dossier.materials.remove(material)
    session.flush()
    dossier.pages = sum(m.pages for m in dossier.materials)
    after = [_snapshot(m) for m in catalogue(dossier)]
    session.add(
        CatalogueRevision(
            dossier_id=dossier.id, actor_id=user.id, source="page_removed", before=before, after=after, note=change
        )
    )
    session.flush()
    return change


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
        made: list[dict[str, Any]] = []
        for e in sorted(entries, key=_numbering_order):
            used[e.material_class.id] = used.get(e.material_class.id, 0) + 1
            made.append({
                "dossier_id": dossier.id, "material_class_id": e.material_class.id,
                "item_no": used[e.material_class.id], "title": e.title, "date_formed": e.date_formed,
                "copies": e.copies, "pages": e.pages, "remarks": e.remarks, "first_page": e.first_page,
                "last_page": e.last_page, "added_after_handover": False, "_class": e.material_class,
            })  # fmt: skip
        made.sort(key=lambda r: catalogue_position(r["_class"].sort_key, r["date_formed"], r["item_no"]))
        for position, r in enumerate(made):
            r["sort_key"] = position
        pages = sum(r["pages"] for r in made)
        notes[dossier.id] = _page_count_note(dossier.pages, pages)
        dossier.pages = pages
        rows.extend(made)
    if rows:
        # Core inserts on the tables (the outbox queues their dossiers by table); __table__ is typed FromClause.
        material_rows = [{k: v for k, v in r.items() if k != "_class"} for r in rows]
        session.execute(insert(Material.__table__), material_rows)  # type: ignore[arg-type]
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
        insert(CatalogueRevision.__table__),  # type: ignore[arg-type]
        [
            {"dossier_id": d.id, "at": now, "actor_id": user.id, "source": source, "before": [],
             "after": after[d.id], "note": notes[d.id]}
            for d, _ in firsts
        ],
    )  # fmt: skip
    for dossier, _ in firsts:
        session.expire(dossier, ["materials"])  # read again from the rows just written


def form_rows(dossier: Dossier) -> list[dict[str, str]]:
    """The catalogue as the dossier page's form shows it (every value as typed text)."""
    return [
        {
            "id": str(m.id), "class_code": m.material_class.code, "title": m.title,
            "date_formed": written_partial_date(m.date_formed),
            "copies": str(m.copies), "pages": str(m.pages), "remarks": m.remarks,
            "first_page": str(m.first_page or ""), "last_page": str(m.last_page or ""), "sequence": m.sequence,
        }
        for m in catalogue(dossier)
    ]  # fmt: skip


def proposal(session: Session, store: ObjectStore, dossier: Dossier) -> list[dict[str, Any]]:
    """The catalogue the pipeline proposed from the pages of the latest digitised copy (none if not digitised).
    As form rows: the archivist accepts, edits or merges them and saves; nothing enters unconfirmed."""
    card = latest_sidecar(session, store, dossier) if dossier.digitisation is DigitisationState.done else None
    if card is None:
        return []
    return [
        {
            "id": "", "class_code": m["class"], "title": m["title"],
            "date_formed": (m.get("date") or "").replace("-", "."), "copies": "1", "pages": str(m["pages"]),
            "remarks": "", "first_page": str(m["first_page"]), "last_page": str(m["last_page"]),
        }
        for m in card.get("proposed_catalogue", [])
    ]  # fmt: skip


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
    reviewed = {
        i for i in session.scalars(
            select(MaterialSupplement.material_id).where(MaterialSupplement.material_id.in_(removed))
        ) if i is not None
    }  # fmt: skip
    return [
        Problem(1, "materials", "material.supplement_kept",
                f"{removed[i].sequence} {removed[i].title} 是经审核归档的补充材料，只能修改，不能从目录中删除")
        for i in sorted(reviewed)
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
    card = latest_sidecar(session, store, dossier)
    assert card is not None, "a digitised dossier has its sidecar"
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
    for held in existing.values():
        used[held.material_class_id] = max(used.get(held.material_class_id, 0), held.item_no)
    kept_ids = {e.material_id for e in entries if e.material_id is not None}
    removed = [m for m in dossier.materials if m.id not in kept_ids]
    for gone in removed:
        dossier.materials.remove(gone)
    if removed:
        session.flush()  # removals first, so no number is briefly held twice
    order = sorted(entries, key=_numbering_order) if first_catalogue else entries
    for e in order:
        m: Material | None = existing.get(e.material_id) if e.material_id is not None else None
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
    put_in_catalogue_order(dossier)
    dossier.pages = sum(m.pages for m in dossier.materials)


def _numbering_order(e: Entry) -> tuple[str, int]:
    """份号 of a first catalogue follow the date formed, then the order the entries came in."""
    return (formed_order(e.date_formed), e.row)


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
