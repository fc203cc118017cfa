"""Dossier rules: who sees which file, registering holdings, the catalogue, custody history."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, false, func, insert, or_, select
from sqlalchemy.orm import Session

from archive_service.auth.models import Role, User
from archive_service.auth.permissions import Action, require
from archive_service.db import insert_many, one_of
from archive_service.digitisation.page_counts import awaiting_digitisation
from archive_service.dossiers.class_schemes import top_class
from archive_service.dossiers.models import (
    ClassScheme,
    CustodyEvent,
    CustodyEventKind,
    Dossier,
    DossierStatus,
    Material,
    MaterialClass,
    Retiree,
)
from archive_service.dossiers.schemas import (
    CustodyEventOut,
    DossierDetail,
    DossierIn,
    DossierSummary,
    MaterialIn,
    MaterialOut,
)
from archive_service.dossiers.sent_on import sent_on_by, sent_on_record
from archive_service.errors import ArchiveError, NotFound
from archive_service.numbering import next_in_series
from archive_service.organisations.models import Organisation, OrganisationKind
from archive_service.protection import digest_of, keyed_digest, suffix_candidates
from archive_service.transfers.models import OPEN, ItemResult, TransferBatch, TransferItem
from archive_service.values import formed_order, make_archival_code, mask_citizen_id

PAGE_SIZE = 50


def visible_to(user: User) -> ColumnElement[bool]:
    """The one rule of dossier visibility: a bureau sees the files it holds, nobody else's.

    Requesters see no dossier by browsing; approved retrieval requests grant them pages.
    """
    if user.role is Role.requester:
        return false()
    return Dossier.custodian_id == user.organisation_id


def _visible(user: User) -> Select[Dossier]:
    require(user, Action.view_dossiers)
    return select(Dossier).where(visible_to(user))


def get_dossier(session: Session, user: User, dossier_id: int) -> Dossier:
    dossier = session.scalar(_visible(user).where(Dossier.id == dossier_id))
    if dossier is None:
        # A file the bureau sent on is gone from it, and says where (its record: dossiers.sent_on).
        sent = sent_on_record(session, user.organisation_id, dossier_id) if user.role is not Role.requester else None
        if sent is not None:
            raise ArchiveError("dossier.sent_on", sent.sentence, "dossier_id", 410)
        raise NotFound("该档案", "dossier_id")  # another bureau's dossier is answered exactly like a missing one
    return dossier


def get_dossier_by_code(session: Session, user: User, archival_code: str) -> Dossier:
    dossier = session.scalar(_visible(user).where(Dossier.archival_code == archival_code.strip().upper()))
    if dossier is None:
        raise NotFound(f"档号为 {archival_code} 的档案", "archival_code")
    return dossier


@dataclass
class DossierQuery:
    text: str = ""  # name, archival code, full citizen ID or its last digits
    status: DossierStatus | None = None
    enterprise_id: int | None = None
    awaiting_digitisation: bool = False  # the digitisation backlog (digitisation/backlog.py)
    page: int = 1


def retirees_with_id_ending(session: Session, suffix: str) -> list[int]:
    """Retirees whose citizen ID ends with `suffix` (4 or more characters): the candidates by the keyed digest of the
    last four, then their decrypted IDs compared (protection.py)."""
    rows = session.execute(select(Retiree.id, Retiree.citizen_id).where(suffix_candidates(Retiree.citizen_id, suffix)))
    return [retiree_id for retiree_id, citizen_id in rows if citizen_id and citizen_id.endswith(suffix)]


def list_dossiers(session: Session, user: User, query: DossierQuery) -> tuple[int, Sequence[Dossier]]:
    stmt = _visible(user).join(Retiree, Dossier.retiree_id == Retiree.id)
    if query.status is DossierStatus.transferred_out and user.role is not Role.requester:
        # 已转出: the files the bureau sent on, held by another bureau now (its read-only record of them).
        stmt = select(Dossier).where(sent_on_by(user.organisation_id)).join(Retiree, Dossier.retiree_id == Retiree.id)
    text = query.text.strip()
    if text:
        stmt = stmt.where(
            or_(
                Retiree.name.contains(text, autoescape=True),  # % and _ are letters here, not wildcards
                Dossier.archival_code == text.upper(),
                Dossier.former_archival_code == text.upper(),  # 原档号: what the old ledger called the file
                # Counter staff ask by the last digits of the ID card (encrypted: found by its last four's digest).
                Retiree.id.in_(retirees_with_id_ending(session, text.upper())) if len(text) >= 4 else false(),
            )
        )
    if query.status not in (None, DossierStatus.transferred_out):
        stmt = stmt.where(Dossier.status == query.status)
    if query.enterprise_id is not None:
        stmt = stmt.where(Retiree.enterprise_id == query.enterprise_id)
    if query.awaiting_digitisation:
        stmt = stmt.where(
            Dossier.status.in_([DossierStatus.in_custody, DossierStatus.on_loan]),
            awaiting_digitisation(),
        )
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    page = max(query.page, 1)
    rows = session.scalars(stmt.order_by(Dossier.archival_code).offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)).all()
    return total, rows


def register_existing(session: Session, user: User, data: DossierIn) -> Dossier:
    """Enter a file the bureau already holds (stock predating the system) into custody."""
    require(user, Action.register_dossier)
    bureau = session.get(Organisation, user.organisation_id)
    assert bureau is not None
    enterprise = session.get(Organisation, data.retiree.enterprise_id)
    if enterprise is None or enterprise.kind is not OrganisationKind.enterprise:
        raise ArchiveError("enterprise.unknown", "所属企业不存在", "retiree.enterprise_id")
    if data.retiree.leader_cadre:
        # 001 第九条(四): files managed by the Party organisation department are not handed over.
        raise ArchiveError(
            "retiree.leader_cadre",
            "领导人员档案由组织部门管理，不移交档案馆保管",
            "retiree.leader_cadre",
            422,
        )
    if session.get(ClassScheme, data.class_scheme) is None:
        raise ArchiveError("class_scheme.unknown", f"分类方案 {data.class_scheme} 不存在", "class_scheme")
    if session.scalar(select(Retiree.id).where(Retiree.citizen_id == data.retiree.citizen_id)):
        raise ArchiveError("citizen_id.duplicate", "该公民身份号码已有档案登记", "retiree.citizen_id", 409)
    check_not_in_another_bureaus_hands(session, data.retiree.citizen_id, "retiree.citizen_id")
    code = check_own_fonds(data.archival_code, bureau) if data.archival_code else next_archival_code(session, bureau)
    if session.scalar(select(Dossier.id).where(Dossier.archival_code == code)):
        raise ArchiveError("archival_code.duplicate", f"档号 {code} 已被使用（档号须唯一）", "archival_code", 409)
    dossier = enter_custody(
        session, user, bureau, Retiree(**data.retiree.model_dump()),
        archival_code=code, volumes=data.volumes, class_scheme=data.class_scheme, note="存量档案登记入馆",
    )  # fmt: skip
    # Item numbers (份号) follow date order within a class, so enter the materials in that order.
    for index, material in sorted(enumerate(data.materials), key=lambda im: formed_order(im[1].date_formed)):
        add_material(session, dossier, material, field=f"materials.{index}")
    return dossier


def enter_custody(
    session: Session,
    user: User,
    bureau: Organisation,
    retiree: Retiree,
    *,
    archival_code: str | None,
    volumes: int,
    class_scheme: str,
    note: str,
    pages: int = 0,
    from_org_id: int | None = None,
    transfer_batch_id: int | None = None,
) -> Dossier:
    """A retiree and the dossier the bureau now holds, its arrival a custody event: the one way in, for
    stock registered by hand and for a file received in a batch. The callers check first."""
    session.add(retiree)
    session.flush()
    dossier = Dossier(
        archival_code=archival_code or next_archival_code(session, bureau),
        retiree_id=retiree.id,
        custodian_id=bureau.id,
        status=DossierStatus.in_custody,
        volumes=volumes,
        pages=pages,
        class_scheme=class_scheme,
    )
    session.add(dossier)
    session.flush()
    record_custody(
        session, dossier, CustodyEventKind.received, actor=user,
        from_org_id=from_org_id, to_org_id=bureau.id, transfer_batch_id=transfer_batch_id, note=note,
    )  # fmt: skip
    return dossier


def next_archival_code(session: Session, bureau: Organisation) -> str:
    """The next {全宗号}-RS-{人员编号}: one more than the highest number in that series. Codes entered by hand
    that do not end in a number (J102-RS-A1, older series) are skipped, never parsed."""
    return next_archival_codes(session, bureau, 1)[0]


def next_archival_codes(session: Session, bureau: Organisation, count: int) -> list[str]:
    """`count` new codes of the bureau's series at once, in order (a ledger of 100,000 files is numbered in
    one step, not in 100,000)."""
    if not bureau.fonds_code:
        raise ArchiveError("bureau.fonds_code", "本馆未设置全宗号，无法编制档号", "archival_code")
    fonds, prefix = bureau.fonds_code, f"{bureau.fonds_code}-RS-"

    def highest_so_far() -> int:
        codes = session.scalars(
            select(Dossier.archival_code)
            .where(Dossier.archival_code.startswith(prefix, autoescape=True))
            .order_by(func.length(Dossier.archival_code).desc(), Dossier.archival_code.desc())
        )
        return next((int(c[len(prefix) :]) for c in codes if c[len(prefix) :].isdigit()), 0)

    codes: list[str] = []
    while len(codes) < count:  # a code typed by hand may already hold a number: the series moves past it
        want = count - len(codes)
        last = next_in_series(session, prefix.rstrip("-"), highest_so_far, want)
        fresh = [make_archival_code(fonds, n) for n in range(last - want + 1, last + 1)]
        taken: set[str] = set()
        for start in range(0, len(fresh), 1000):
            chunk = fresh[start : start + 1000]
            held = select(Dossier.archival_code).where(one_of(session, Dossier.archival_code, chunk))
            taken.update(session.scalars(held))
        codes += [c for c in fresh if c not in taken]
    return codes


def new_retirees(session: Session, rows: Sequence[dict[str, Any]]) -> list[int]:
    """Retirees written in bulk through the model (its columns and their types, as an ORM insert), in the
    order given; their ids. The one way many retirees are written at once (the holdings import)."""
    if not rows:
        return []

    def key(r: Any, digest: str | None) -> tuple[Any, ...]:
        return (digest,) if digest else (r["name"], r["sex"], r["birth_date"], r["enterprise_id"])

    # The ID is encrypted (protection.py): rows are matched by its keyed digest, which RETURNING reads as it is.
    keys = [key(r, keyed_digest(r["citizen_id"]) if r["citizen_id"] else None) for r in rows]
    # The table's insert, not the model's: the same columns, types and defaults without the ORM's bulk
    # machinery (a third of the time of writing a ledger's rows).
    table: Any = Retiree.__table__
    if len(set(keys)) < len(keys):  # rows alike: only the database's own order can tell them apart (slow)
        returning = insert(table).returning(table.c.id, sort_by_parameter_order=True)
        return list(session.execute(returning, [dict(r) for r in rows]).scalars())
    # Many rows to one INSERT … RETURNING, whose rows come back in no promised order: matched by their key.
    # (Asking for the order makes SQLite insert them one by one: 100,000 statements for a ledger.)
    c = table.c
    returned = (c.id, digest_of(c.citizen_id).label("digest"), c.name, c.sex, c.birth_date, c.enterprise_id)
    made = {key(r._mapping, r.digest): r.id for r in insert_many(session, table, rows, *returned)}
    return [made[k] for k in keys]


def check_own_fonds(code: str, bureau: Organisation, field: str = "archival_code") -> str:
    """A 档号 given by hand carries the bureau's own 全宗号 (DA/T 13: the fonds code is the first part) — one
    bureau cannot take another's codes, nor block its numbering."""
    if not bureau.fonds_code or not code.startswith(f"{bureau.fonds_code}-"):
        raise ArchiveError(
            "archival_code.fonds",
            f"档号 {code} 不以本馆全宗号 {bureau.fonds_code or '（未设置）'} 开头；档号须用本馆全宗号",
            field,
            422,
        )
    return code


def check_not_in_another_bureaus_hands(session: Session, citizen_id: str, field: str) -> None:
    """A retiree's file is held by one bureau at a time: not while it is on its way in an open batch."""
    batch = session.scalar(
        select(TransferBatch.number)
        .join(TransferItem)
        .where(
            TransferItem.citizen_id == citizen_id,
            TransferBatch.status.in_(OPEN),
            TransferItem.result == ItemResult.pending,
        )
    )
    if batch:
        raise ArchiveError(
            "citizen_id.in_transfer", f"该人员的档案在未办结的移交批次 {batch} 中，不能另行登记", field, 409
        )


def material_class_of(session: Session, dossier: Dossier, class_code: str, field: str) -> MaterialClass:
    """The class a code names in the dossier's own class scheme."""
    material_class = session.scalar(
        select(MaterialClass).where(MaterialClass.scheme_code == dossier.class_scheme, MaterialClass.code == class_code)
    )
    if material_class is None:
        raise ArchiveError(
            "material.class_code", f"类号 {class_code} 不属于本档案的分类方案 {dossier.class_scheme}", field
        )
    return material_class


def add_material(
    session: Session,
    dossier: Dossier,
    data: MaterialIn,
    *,
    added_after_handover: bool = False,
    field: str = "material",
) -> Material:
    """Add a catalogue entry as the next item (份号) of its class; nothing existing is renumbered."""
    material_class = material_class_of(session, dossier, data.class_code, f"{field}.class_code")
    same_class = [m for m in dossier.materials if m.material_class_id == material_class.id]
    material = Material(
        material_class=material_class,
        material_class_id=material_class.id,
        item_no=len(same_class) + 1,
        title=data.title,
        date_formed=data.date_formed,
        copies=data.copies,
        pages=data.pages,
        remarks=data.remarks,
        added_after_handover=added_after_handover,
        sort_key=0,
    )
    dossier.materials.append(material)
    put_in_catalogue_order(dossier)
    dossier.pages = sum(m.pages for m in dossier.materials)
    session.flush()
    return material


def put_in_catalogue_order(dossier: Dossier) -> None:
    """Number the materials' places (sort_key) by `catalogue_position`."""
    ordered = sorted(
        dossier.materials, key=lambda m: catalogue_position(m.material_class.sort_key, m.date_formed, m.item_no)
    )
    for position, m in enumerate(ordered):
        m.sort_key = position


def catalogue_position(class_sort_key: int, date_formed: str | None, item_no: int) -> tuple[int, str, int]:
    """An entry's place in the catalogue: class order of the scheme, then date formed (undated last), then
    份号 (STANDARDS §3.4)."""
    return (class_sort_key, formed_order(date_formed), item_no)


def custody_event(
    dossier: Dossier,
    kind: CustodyEventKind,
    *,
    actor: User | None = None,
    from_org_id: int | None = None,
    to_org_id: int | None = None,
    from_slot_id: int | None = None,
    to_slot_id: int | None = None,
    transfer_batch_id: int | None = None,
    note: str = "",
) -> CustodyEvent:
    """A custody event, not yet added: for callers that record many in one go."""
    return CustodyEvent(
        dossier_id=dossier.id,
        kind=kind,
        actor_id=actor.id if actor else None,
        from_org_id=from_org_id,
        to_org_id=to_org_id,
        from_slot_id=from_slot_id,
        to_slot_id=to_slot_id,
        transfer_batch_id=transfer_batch_id,
        note=note,
    )


def record_custody(session: Session, dossier: Dossier, kind: CustodyEventKind, **details: Any) -> CustodyEvent:
    event = custody_event(dossier, kind, **details)
    session.add(event)
    session.flush()
    return event


def custody_history(session: Session, dossier: Dossier) -> Sequence[CustodyEvent]:
    return session.scalars(
        select(CustodyEvent).where(CustodyEvent.dossier_id == dossier.id).order_by(CustodyEvent.at, CustodyEvent.id)
    ).all()


def dashboard_counts(session: Session, user: User) -> dict[str, int]:
    rows = session.execute(select(Dossier.status, func.count()).where(visible_to(user)).group_by(Dossier.status)).all()
    counts = {status.value: 0 for status in DossierStatus}
    counts.update({status.value: n for status, n in rows})
    if user.role is not Role.requester:
        sent = select(func.count()).select_from(Dossier).where(sent_on_by(user.organisation_id))
        counts[DossierStatus.transferred_out.value] += session.scalar(sent) or 0
    return counts


# ---- shapes for the API and pages -------------------------------------------------------------


def summary(dossier: Dossier) -> DossierSummary:
    return DossierSummary(
        id=dossier.id,
        archival_code=dossier.archival_code,
        retiree_name=dossier.retiree.name,
        citizen_id_masked=mask_citizen_id(dossier.retiree.citizen_id),
        enterprise=dossier.retiree.enterprise.name,
        status=dossier.status.value,
        volumes=dossier.volumes,
        pages=dossier.pages,
        digitisation=dossier.digitisation.value,
        held_by=dossier.held_by.name if dossier.held_by else None,
    )


def detail(session: Session, dossier: Dossier) -> DossierDetail:
    r = dossier.retiree
    return DossierDetail(
        **summary(dossier).model_dump(),
        sex=r.sex,
        birth_date=r.birth_date,
        work_start_date=r.work_start_date,
        retirement_date=r.retirement_date,
        class_scheme=dossier.class_scheme,
        classified=r.classified,
        secrecy=r.secrecy,
        materials=[
            MaterialOut(
                id=m.id,
                sequence=m.sequence,
                class_code=m.material_class.code,
                class_name=m.material_class.name,
                title=m.title,
                date_formed=m.date_formed,
                copies=m.copies,
                pages=m.pages,
                remarks=m.remarks,
                first_page=m.first_page,
                last_page=m.last_page,
                added_after_handover=m.added_after_handover,
            )
            for m in catalogue(dossier)
        ],
        custody=[
            CustodyEventOut(
                at=e.at,
                kind=e.kind.value,
                label=e.kind.label,
                from_org=e.from_org.name if e.from_org else None,
                to_org=e.to_org.name if e.to_org else None,
                note=e.note,
            )
            for e in custody_history(session, dossier)
        ],
    )


def catalogue(dossier: Dossier) -> list[Material]:
    # The relationship is ordered only when loaded; entries added in this session are re-sorted here.
    return sorted(dossier.materials, key=lambda m: m.sort_key)


def catalogue_by_top_class(session: Session, dossier: Dossier) -> list[tuple[int, str, list[Material]]]:
    """Materials under the ten classes 一…十 of the dossier's scheme, as the printed catalogue shows them."""
    names = {
        c.top_class: c.name
        for c in session.scalars(select(MaterialClass).where(MaterialClass.scheme_code == dossier.class_scheme))
        if "-" not in c.code
    }
    groups: dict[int, list[Material]] = {n: [] for n in range(1, 11)}
    for m in catalogue(dossier):
        groups[top_class(m.material_class.code)].append(m)
    return [(n, names.get(n, ""), materials) for n, materials in groups.items()]
