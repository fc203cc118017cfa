"""Saving a checked ledger: every row checked again inside the one transaction, then all saved or none, or
the good rows only — each file's retiree, dossier, custody event 存量入馆 and ledger entry written a thousand
rows at a time, the shelving the person agreed to set up, the import on the access log."""

from collections import defaultdict
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive_service.access.log import AccessAction, record_access
from archive_service.auth.models import User
from archive_service.auth.permissions import Action, require
from archive_service.db import bureau_midnight, insert_many, utcnow
from archive_service.dossiers.models import (
    CustodyEvent,
    CustodyEventKind,
    DigitisationState,
    Dossier,
    DossierStatus,
)
from archive_service.dossiers.service import new_retirees, next_archival_codes
from archive_service.errors import ArchiveError, NotFound
from archive_service.holdings.checking import (
    KeptRows,
    LedgerPass,
    Resolved,
    RowsDone,
    check_mappings,
    no_progress,
    total_rows,
)
from archive_service.holdings.decisions import Decisions
from archive_service.holdings.ledger_cells import place_key
from archive_service.holdings.locations import LedgerShelving
from archive_service.holdings.models import (
    HoldingsEntry,
    HoldingsImport,
    ImportState,
)
from archive_service.holdings.outcome import Outcome, record_problems
from archive_service.organisations import units
from archive_service.organisations.models import BureauUnit, Organisation, OrganisationKind, OrganisationLevel
from archive_service.organisations.schemas import OrganisationIn
from archive_service.organisations.service import create_organisation
from archive_service.shelving import layout, placement
from archive_service.shelving.models import RoomKind
from archive_service.transfers.catalogues import SCHEME

# ---- saving ---------------------------------------------------------------------------------------


def save_import(
    session: Session,
    user: User,
    import_id: int,
    *,
    good_rows_only: bool,
    client: str = "",
    progress: RowsDone = no_progress,
) -> dict[str, Any]:
    """Check every row again, then save in this session's one transaction: all rows or none, or the good rows
    only. Each file: its retiree, its dossier in custody (its 档号, or a new one with the old kept as 原档号),
    one custody event 存量入馆 dated by the ledger, its layer, its ledger entry; the import on the access log.

    Two passes over the ledger. The first only reads: every row checked against the others and the database,
    so a refusal (all or nothing with a problem) never takes the database's write lock, and a row a later one
    repeats is known before anything is written; it keeps the rows as read (KeptRows). The second sets up
    what the person agreed to, then checks each kept row again as it writes it, a thousand at a time.
    `progress` hears of both passes (rows done of twice the ledger's rows)."""
    imported = _saving(session, user, import_id)
    decisions = Decisions.of(imported)
    total = total_rows(imported)
    kept = KeptRows()
    try:
        return _save(session, user, import_id, imported, decisions, good_rows_only, client, progress, total, kept)
    finally:
        kept.close()


def _save(
    session: Session,
    user: User,
    import_id: int,
    imported: HoldingsImport,
    decisions: Decisions,
    good_rows_only: bool,
    client: str,
    progress: RowsDone,
    total: int,
    kept: KeptRows,
) -> dict[str, Any]:
    # The shelving the dry run found missing: set up before the writing pass, so that pass finds it in place.
    plan = {k: (imported.summary or {}).get(k) or {} for k in ("new_units", "missing_rooms")}
    first = Outcome()
    reading = LedgerPass(session, imported, decisions)
    for _ in reading.walk(first, progress, 2 * total, rows=kept.keep(reading.rows())):
        pass
    session.rollback()  # end the reading transaction: the writing one starts on the database as it is now
    imported = _saving(session, user, import_id)
    if first.bad and not good_rows_only:
        return _refused(session, imported, first, plan)
    enterprises = _create_enterprises(session, decisions)
    _set_up_shelving(session, user, imported, decisions)
    walk = LedgerPass(session, imported, decisions, saving=True)  # after the set-up: new enterprises and layers
    outcome = Outcome()
    now = utcnow()
    on_shelf: dict[int, int] = defaultdict(int)
    saved = 0
    for good in walk.walk(outcome, progress, 2 * total, done=first.rows, rows=kept.replay()):
        rows = [g for g in good if (g.row.sheet, g.row.row) not in first.bad | outcome.bad]
        if rows and not (outcome.bad and not good_rows_only):
            wanted = sum(1 for g in rows if decisions.renumber or not g.row.archival_code)
            codes = iter(next_archival_codes(session, walk.bureau, wanted) if wanted else [])
            saved += _write(session, user, imported, walk.bureau, rows, enterprises, decisions, codes, now, on_shelf)
    if outcome.bad and not good_rows_only:  # the database changed since the first pass: refused after all
        session.rollback()
        return _refused(session, _saving(session, user, import_id), outcome, plan)
    placement.claim_many(session, on_shelf)
    record_problems(session, imported, outcome)
    imported.summary = {**outcome.summary(), "saved": saved, "set_up": plan["new_units"]}
    imported.state = ImportState.saved
    imported.saved_at, imported.saved_by_id = now, user.id
    record_access(
        session, user, AccessAction.holdings_import, client,
        detail=f"存量档案导入 #{imported.id}：{imported.filename}（SHA-256 {imported.sha256}）；"
        f"台账 {outcome.rows} 行，导入 {saved} 行，未导入 {outcome.rows - saved} 行",
        with_change=True,
    )  # fmt: skip
    progress(2 * total, 2 * total)
    session.flush()
    return imported.summary


def _refused(session: Session, imported: HoldingsImport, outcome: Outcome, plan: dict[str, Any]) -> dict[str, Any]:
    """All or nothing, and a row has a problem: nothing saved, every problem listed."""
    record_problems(session, imported, outcome)
    imported.summary = {**outcome.summary(), **plan, "refused": True}  # the plan still holds: nothing was set up
    imported.state = ImportState.refused
    session.flush()
    return imported.summary


def _saving(session: Session, user: User, import_id: int) -> HoldingsImport:
    require(user, Action.import_holdings)
    imported = session.get(HoldingsImport, import_id)
    if imported is None or imported.bureau_id != user.organisation_id:
        raise NotFound("该台账导入", "import_id")
    if imported.state not in (ImportState.saving, ImportState.checked):
        raise ArchiveError("import.state", f"本台账{imported.state.label}，不能导入", "import_id", 409)
    check_mappings(imported)
    return imported


def _create_enterprises(session: Session, decisions: Decisions) -> dict[str, int]:
    made = {}
    for name, new in decisions.new_enterprises.items():
        org = create_organisation(
            session,
            OrganisationIn(
                name=name, kind=OrganisationKind.enterprise, credit_code=new.credit_code,
                region_code=new.region_code, level=OrganisationLevel(new.level),
            ),
        )  # fmt: skip
        made[name] = org.id
    return made


def _set_up_shelving(session: Session, user: User, imported: HoldingsImport, decisions: Decisions) -> None:
    """The rooms and units the dry run found missing, when the person agreed to set them up: each unit as
    large as the places the ledger names in it, each layer able to take at least what the ledger puts on
    it (the bureau's box profile, or the capacity the person gave). Through the shelving module's own
    rules (the person must be allowed to set up shelving)."""
    plan = (imported.summary or {}).get("new_units", [])
    if not decisions.create_shelving or not plan:
        return
    areas = {place_key(k): v for k, v in decisions.room_areas.items()}
    bureau = session.get(Organisation, imported.bureau_id)
    assert bureau is not None
    shelving = LedgerShelving(session, bureau, decisions)
    rooms = dict(shelving.rooms)
    for new in plan:
        key = place_key(new["room"])
        room = rooms.get(key)
        if room is None:
            room = layout.add_room(session, user, layout.RoomForm(new["room"], RoomKind.store, areas[key]))
            rooms[key] = room
        capacity = max(shelving.default_capacity or 0, new["most_in_a_layer"])
        layout.add_unit(
            session, user, room.id,
            layout.UnitForm(code=new["unit"], columns=new["columns"], sections=new["sections"],
                            layers=new["layers"], sides=new["sides"], capacity_per_layer=capacity),
        )  # fmt: skip


def _write(
    session: Session,
    user: User,
    imported: HoldingsImport,
    bureau: Organisation,
    rows: list[Resolved],
    enterprises: dict[str, int],
    decisions: Decisions,
    codes: Iterator[str],
    now: datetime,
    on_shelf: dict[int, int],
) -> int:
    slots = [r.slot for r in rows]
    retiree_ids = new_retirees(
        session,
        [
            {
                "name": r.row.name,
                "sex": r.row.sex,
                "citizen_id": r.row.citizen_id,
                "birth_date": r.row.birth_date,
                "work_start_date": None,
                "retirement_date": None,
                "enterprise_id": r.enterprise if isinstance(r.enterprise, int) else enterprises[r.enterprise],
                # A ledger seldom says where the retiree lives: the file is held here, so here it is recorded.
                "hukou_region_code": r.row.hukou_region_code or bureau.region_code,
                "residence_region_code": r.row.residence_region_code or r.row.hukou_region_code or bureau.region_code,
                "insured_region_code": None,
                "party_member": False,
                "leader_cadre": False,
                "secrecy": r.row.secrecy_level,
                "deceased_date": None,
            }
            for r in rows
        ],
    )
    values = [
        {
            "archival_code": next(codes) if decisions.renumber or not r.row.archival_code else r.row.archival_code,
            "former_archival_code": r.row.archival_code if decisions.renumber else None,
            "retiree_id": retiree_id,
            "custodian_id": bureau.id,
            # A file a street or custodian keeps for the bureau (003 七(二)) is the bureau's, kept elsewhere.
            "status": DossierStatus.held_elsewhere if r.held_by else DossierStatus.in_custody,
            "held_by_id": r.held_by,
            "volumes": r.row.volumes,
            "pages": r.row.pages,
            "class_scheme": SCHEME,
            "shelf_slot_id": slot,
            "digitisation": DigitisationState.not_started,
            "created_at": now,
            "updated_at": now,
        }
        for r, retiree_id, slot in zip(rows, retiree_ids, slots, strict=True)
    ]
    # 档号 are unique: the new ids are matched by them (RETURNING promises no order; the ids also queue the
    # files for the search index, finding/outbox.py).
    table: Any = Dossier.__table__
    made = dict((code, i) for i, code in insert_many(session, table, values, table.c.id, table.c.archival_code))
    dossier_ids = [made[v["archival_code"]] for v in values]
    events, entries = [], []
    wanted = {r.held_by for r in rows if r.held_by}
    holders = {u.id: u for u in session.scalars(select(BureauUnit).where(BureauUnit.id.in_(wanted)))} if wanted else {}
    for r, dossier_id, slot in zip(rows, dossier_ids, slots, strict=True):
        row = r.row
        entered = row.entered_on
        where = f"台账“{imported.filename}”{row.sheet} 第 {row.row} 行"
        note = (
            f"存量入馆：入馆日期 {entered.written}（据台账，{where}）"
            if entered
            else f"存量入馆：台账未载入馆日期，按导入日期记（{where}）"
        )
        if row.location:
            note += f"；架位 {row.location.written}"
            on_shelf[slot] += row.volumes  # type: ignore[index]
        events.append(
            {
                "dossier_id": dossier_id, "kind": CustodyEventKind.holdings_entry, "actor_id": user.id,
                "from_org_id": None, "to_org_id": bureau.id, "to_slot_id": slot, "note": note,
                "at": bureau_midnight(entered.first_day) if entered else now,
            }
        )  # fmt: skip
        if r.held_by:
            unit = holders[r.held_by]
            events.append(
                {
                    "dossier_id": dossier_id, "kind": CustodyEventKind.held_elsewhere, "actor_id": user.id,
                    "from_org_id": bureau.id, "to_org_id": None, "to_slot_id": None,
                    "at": bureau_midnight(entered.first_day) if entered else now,
                    "note": f"存量档案由{unit.kind.label} {unit.name} 保管（{where}；{units.basis_of(unit)}）",
                }
            )  # fmt: skip
        entries.append(
            {
                "dossier_id": dossier_id, "import_id": imported.id, "sheet": row.sheet, "row": row.row,
                "entered_on": entered.first_day if entered else None, "former_employer": row.former_employer,
                "secrecy": row.secrecy, "remarks": row.remarks, "as_written": row.as_written(),
            }
        )  # fmt: skip
    # The tables' inserts, without the ORM's bulk machinery (custody events queue no search).
    insert_many(session, CustodyEvent.__table__, events)
    insert_many(session, HoldingsEntry.__table__, entries)
    return len(rows)
