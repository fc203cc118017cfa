"""Retention and disposal (晋政办通〔2020〕18号 第八条(七): 人事档案移交、管理与处置).

The bureau sets, per state of the retiree (death, disappearance, emigration: life_events.py), how many years
after it the file is kept; a file past that is listed as due. Nothing is destroyed by one person: a 销毁清册
is drawn up by an archivist, signed by two approvers other than the one who drew it up, and only then carried
out — the paper leaves its shelf slot by a 销毁 custody event, and the digital objects (masters, use copies,
sidecars, certificate scans) are removed from the object store through the storage port, each deletion
recorded (ObjectDeletion) so that fixity checks, replication and backups skip them; the DigitalObject rows stay
as the record of what was destroyed (name, size, checksum), the page text goes. The list is kept forever
(the database refuses its deletion) and exported as a workbook. Every step is on the access log.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

from openpyxl import Workbook
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from archive_service.access.log import AccessAction, record_access, record_change
from archive_service.access.reading import file_out_in
from archive_service.auth.models import User
from archive_service.auth.permissions import Action, require
from archive_service.db import bureau_today, in_bureau_time
from archive_service.disposal.models import (
    DisposalEntry,
    DisposalList,
    DisposalSignature,
    DisposalStatus,
    RetentionRule,
    RetentionState,
)
from archive_service.dossiers.models import (
    CustodyEventKind,
    DigitalObject,
    Dossier,
    DossierStatus,
    LifeEvent,
    LifeEventKind,
    PageText,
    Retiree,
)
from archive_service.dossiers.service import record_custody
from archive_service.errors import ArchiveError, NotFound
from archive_service.numbering import next_in_series
from archive_service.organisations.models import Organisation
from archive_service.preservation.service import destroy_at_commit, destroyed_keys
from archive_service.shelving.models import ShelfSlot
from archive_service.shelving.placement import take_off_shelf
from archive_service.values import policy_basis
from archive_service.workbooks import workbook_bytes
from storage import ObjectStore

BASIS = "晋政办通〔2020〕18号 第八条(七)（人事档案移交、管理与处置）"
SIGNATURES_NEEDED = 2  # two people besides the one who drew the list up: nothing is disposed by one person
HOLDING = (DossierStatus.in_custody, DossierStatus.on_loan)  # files the bureau still holds


def rules(session: Session, bureau_id: int) -> dict[RetentionState, RetentionRule]:
    found = session.scalars(select(RetentionRule).where(RetentionRule.bureau_id == bureau_id))
    return {r.state: r for r in found}


def set_rule(session: Session, admin: User, state: str, years: object, basis: str, client: str) -> RetentionRule | None:
    """The administrator sets how many years after a state the file is kept; years empty removes the rule (the
    state's files are then never due). Before and after on the access log."""
    require(admin, Action.set_jurisdiction)  # the bureau's policy settings are the administrator's
    try:
        which = RetentionState(state)
    except ValueError:
        names = "、".join(s.label for s in RetentionState)
        raise ArchiveError("state.unknown", f"人员状态应为以下之一：{names}", "state", 422) from None
    clear = years is None or years == ""
    if not clear and (not isinstance(years, int) or isinstance(years, bool) or not 1 <= years <= 100):
        raise ArchiveError("years.range", "保管期限应为 1–100 年的整数（留空表示不设期限，永不到期）", "years", 422)
    why = basis.strip() if clear else policy_basis(basis)
    rule = session.get(RetentionRule, (admin.organisation_id, which), with_for_update=True)
    before = f"{rule.years} 年（{rule.basis}）" if rule else "未设期限"
    if clear:
        if rule is not None:
            session.delete(rule)
        after = "未设期限"
    else:
        assert isinstance(years, int)
        if rule is None:
            rule = RetentionRule(bureau_id=admin.organisation_id, state=which)
            session.add(rule)
        rule.years, rule.basis, rule.set_by_id, rule.set_at = years, why, admin.id, datetime.now(UTC)
        after = f"{years} 年（{why}）"
    what = f"档案保管期限（{which.label}后）："
    record_change(session, admin, AccessAction.policy_changed, client, what, before, after)
    session.flush()
    return None if clear else rule


@dataclass(frozen=True)
class Due:
    """A file past the bureau's retention: which state, since when, due since when, and a list it is on."""

    dossier: Dossier
    state: RetentionState
    state_on: date
    due_on: date
    on_list: str | None  # the number of an open 销毁清册 that already holds it

    @property
    def can_be_listed(self) -> bool:
        return self.on_list is None and self.dossier.status is DossierStatus.in_custody


def add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February in a year that has none
        return day.replace(year=day.year + years, day=28)


def due(session: Session, user: User, today: date | None = None) -> list[Due]:
    """The bureau's files past their retention, the longest overdue first."""
    require(user, Action.view_dossiers)
    kept = rules(session, user.organisation_id)
    if not kept:
        return []
    today = today or bureau_today()
    found: dict[tuple[int, RetentionState], date] = {}  # (retiree, state) → the latest recorded date of it
    kinds = [LifeEventKind(s.value) for s in kept]
    held = (Dossier.custodian_id == user.organisation_id, Dossier.status.in_(HOLDING))
    for retiree_id, kind, on in session.execute(
        select(LifeEvent.retiree_id, LifeEvent.kind, func.max(LifeEvent.occurred_on))
        .join(Dossier, Dossier.retiree_id == LifeEvent.retiree_id)
        .where(*held, LifeEvent.kind.in_(kinds))
        .group_by(LifeEvent.retiree_id, LifeEvent.kind)
    ):
        found[(retiree_id, RetentionState(kind.value))] = on
    # A death known only from the file's particulars (an old ledger's entry) counts as recorded too.
    for retiree_id, died in session.execute(
        select(Retiree.id, Retiree.deceased_date)
        .join(Dossier, Dossier.retiree_id == Retiree.id)
        .where(*held, Retiree.deceased_date.is_not(None))
    ):
        if died is not None:  # the query takes only those with one
            found.setdefault((retiree_id, RetentionState.death), died)
    since: dict[int, tuple[RetentionState, date, date]] = {}  # retiree → the state whose retention ended first
    for (retiree_id, state), on in found.items():
        if state not in kept:
            continue
        ends = add_years(on, kept[state].years)
        if ends <= today and (retiree_id not in since or ends < since[retiree_id][2]):
            since[retiree_id] = (state, on, ends)
    if not since:
        return []
    listed = dict(
        session.execute(
            select(DisposalEntry.dossier_id, DisposalList.number)
            .join(DisposalList, DisposalList.id == DisposalEntry.list_id)
            .where(DisposalList.bureau_id == user.organisation_id, DisposalList.status != DisposalStatus.carried_out)
        ).all()
    )
    dossiers = session.scalars(
        select(Dossier).where(
            Dossier.custodian_id == user.organisation_id,
            Dossier.status.in_(HOLDING),
            Dossier.retiree_id.in_(since),
        )
    ).all()
    out = []
    for d in dossiers:
        state, on, ends = since[d.retiree_id]
        out.append(Due(d, state, on, ends, listed.get(d.id)))
    return sorted(out, key=lambda x: (x.due_on, x.dossier.archival_code))


def _number(session: Session, bureau: Organisation) -> str:
    prefix = f"XH{bureau_today().year}-{bureau.fonds_code or bureau.id}-"  # 销毁, the year, the bureau

    def highest_so_far() -> int:
        last = session.scalar(select(func.max(DisposalList.number)).where(DisposalList.number.startswith(prefix)))
        return int(last.rsplit("-", 1)[1]) if last else 0

    return f"{prefix}{next_in_series(session, prefix.rstrip('-'), highest_so_far):03d}"


def draw_up(session: Session, user: User, dossier_ids: Sequence[int], reason: str, client: str) -> DisposalList:
    """An archivist draws up a 销毁清册 of files past their retention; it waits for two signatures."""
    require(user, Action.dispose_files)
    why = reason.strip()
    if not 2 <= len(why) <= 500:
        raise ArchiveError("reason.required", "请写明鉴定意见（为何这些档案可以销毁，2–500 字）", "reason", 422)
    chosen = list(dict.fromkeys(dossier_ids))
    if not chosen:
        raise ArchiveError("dossier_ids.required", f"请选择列入销毁清册的档案（{BASIS}）", "dossier_ids", 422)
    past = {d.dossier.id: d for d in due(session, user)}
    for dossier_id in chosen:
        item = past.get(dossier_id)
        if item is None:
            dossier = session.get(Dossier, dossier_id)
            if dossier is None or dossier.custodian_id != user.organisation_id:
                raise NotFound("该档案", "dossier_ids")
            raise ArchiveError(
                "dossier_ids.not_due",
                f"档案 {dossier.archival_code}（{dossier.retiree.name}）未到本馆设定的保管期限，"
                f"不能列入销毁清册（{BASIS}）",
                "dossier_ids", 409,
            )  # fmt: skip
        if item.on_list:
            raise ArchiveError(
                "dossier_ids.on_list",
                f"档案 {item.dossier.archival_code} 已列入销毁清册 {item.on_list}，不能重复列入",
                "dossier_ids", 409,
            )  # fmt: skip
        if item.dossier.status is not DossierStatus.in_custody:
            raise ArchiveError(
                "dossier_ids.on_loan",
                f"档案 {item.dossier.archival_code} 借出未还，归还后才能列入销毁清册",
                "dossier_ids", 409,
            )  # fmt: skip
    bureau = session.get(Organisation, user.organisation_id)
    assert bureau is not None
    listing = DisposalList(
        number=_number(session, bureau), bureau_id=bureau.id, status=DisposalStatus.drawn, reason=why,
        drawn_by_id=user.id,
    )  # fmt: skip
    session.add(listing)
    session.flush()
    for n, dossier_id in enumerate(chosen, start=1):
        d = past[dossier_id]
        session.add(
            DisposalEntry(
                list_id=listing.id, row_no=n, dossier_id=dossier_id, archival_code=d.dossier.archival_code,
                retiree_name=d.dossier.retiree.name, state=d.state, state_on=d.state_on, due_on=d.due_on,
                volumes=d.dossier.volumes, pages=d.dossier.pages,
            )
        )  # fmt: skip
    codes = "、".join(past[i].dossier.archival_code for i in chosen)
    record_access(
        session, user, AccessAction.disposal_drawn, client,
        detail=f"编制销毁清册 {listing.number}：{len(chosen)} 卷（{codes}）；鉴定意见：{why}", with_change=True,
    )  # fmt: skip
    session.flush()
    session.expire(listing, ["entries", "signatures"])  # read again with the rows just written
    return listing


def get_list(session: Session, user: User, list_id: int) -> DisposalList:
    require(user, Action.view_dossiers)
    listing = session.get(DisposalList, list_id)
    if listing is None or listing.bureau_id != user.organisation_id:
        raise NotFound("该销毁清册", "list_id")
    return listing


def lists(session: Session, user: User) -> Sequence[DisposalList]:
    require(user, Action.view_dossiers)
    return session.scalars(
        select(DisposalList).where(DisposalList.bureau_id == user.organisation_id).order_by(DisposalList.id.desc())
    ).all()


def sign(session: Session, user: User, list_id: int, opinion: str, client: str) -> DisposalList:
    """An approver signs (签批) a list: never the one who drew it up, never twice; with the second signature the
    list is approved for carrying out."""
    require(user, Action.sign_disposal)
    listing = get_list(session, user, list_id)
    _lock_list(session, listing)
    if listing.status is not DisposalStatus.drawn:
        raise ArchiveError(
            "list.signed", f"销毁清册 {listing.number} {listing.status.label}，无需再签批", "list_id", 409
        )
    if listing.drawn_by_id == user.id:
        raise ArchiveError(
            "list.own", f"清册编制人不能签批自己编制的销毁清册，须由另外两人签批（{BASIS}）", "list_id", 403
        )
    if any(s.signed_by_id == user.id for s in listing.signatures):
        raise ArchiveError(
            "list.signed_twice", f"您已签批过销毁清册 {listing.number}，须由另一人签批（{BASIS}）", "list_id", 409
        )
    said = opinion.strip()
    if not 2 <= len(said) <= 200:
        raise ArchiveError("opinion.required", "请填写签批意见（如：同意销毁，2–200 字）", "opinion", 422)
    session.add(DisposalSignature(list_id=listing.id, signed_by_id=user.id, opinion=said))
    session.flush()
    session.expire(listing, ["signatures"])
    if len({s.signed_by_id for s in listing.signatures} - {listing.drawn_by_id}) >= SIGNATURES_NEEDED:
        listing.status = DisposalStatus.approved
    record_access(
        session, user, AccessAction.disposal_signed, client,
        detail=f"签批销毁清册 {listing.number}（第 {len(listing.signatures)} 人）：{said}", with_change=True,
    )  # fmt: skip
    session.flush()
    return listing


def _lock_list(session: Session, listing: DisposalList) -> None:
    """One signer or executor at a time on a list (PostgreSQL locks the row; its joined users cannot be locked
    with it), then the list as it now stands."""
    session.execute(select(DisposalList.id).where(DisposalList.id == listing.id).with_for_update())
    session.refresh(listing)


@dataclass(frozen=True)
class Outcome:
    listing: DisposalList
    objects_removed: int
    bytes_removed: int


def carry_out(session: Session, store: ObjectStore, user: User, list_id: int, client: str) -> Outcome:
    """Destroy the files of an approved list: each leaves its shelf slot by a 销毁 custody event and its digital
    objects leave the object store (at commit); the list records what was done. All or nothing."""
    require(user, Action.dispose_files)
    listing = get_list(session, user, list_id)
    _lock_list(session, listing)
    if listing.status is DisposalStatus.carried_out:
        raise ArchiveError("list.carried_out", f"销毁清册 {listing.number} 已于此前执行销毁", "list_id", 409)
    signers = {s.signed_by_id for s in listing.signatures} - {listing.drawn_by_id}
    if listing.status is not DisposalStatus.approved or len(signers) < SIGNATURES_NEEDED:
        raise ArchiveError(
            "list.not_approved",
            f"销毁清册 {listing.number} 尚未经两人签批（已签批 {len(signers)} 人），不能执行销毁（{BASIS}）",
            "list_id", 409,
        )  # fmt: skip
    ids = [e.dossier_id for e in listing.entries]
    gone = destroyed_keys(session)
    # Content-addressed: the same bytes may belong to a file that is not being destroyed; those stay.
    shared = set(
        session.scalars(
            select(DigitalObject.storage_key)
            .join(Dossier, Dossier.id == DigitalObject.dossier_id)
            .where(DigitalObject.dossier_id.not_in(ids), Dossier.status != DossierStatus.disposed)
        )
    )
    why = f"销毁清册 {listing.number}（{BASIS}）"
    total_objects = total_bytes = 0
    for entry in listing.entries:
        session.execute(select(Dossier.id).where(Dossier.id == entry.dossier_id).with_for_update())
        dossier = session.get(Dossier, entry.dossier_id, populate_existing=True)
        assert dossier is not None
        if dossier.status is not DossierStatus.in_custody or dossier.custodian_id != listing.bureau_id:
            raise ArchiveError(
                "dossier.not_in_custody",
                f"档案 {dossier.archival_code} 当前{dossier.status.label}，不在馆内，本清册未执行任何销毁",
                "list_id", 409,
            )  # fmt: skip
        out = file_out_in(session, dossier.id)
        if out is not None:  # the paper is in the 阅档室 for a 到馆查阅 (access/reading.py): it is not on its slot
            raise ArchiveError(
                "dossier.in_reading",
                f"档案 {dossier.archival_code} 正在阅档室查阅，归架后才能销毁；本清册未执行任何销毁",
                "list_id", 409,
            )  # fmt: skip
        slot = session.get(ShelfSlot, dossier.shelf_slot_id) if dossier.shelf_slot_id else None
        entry.shelf_slot = slot.label if slot else "未上架"
        previous = take_off_shelf(session, dossier)
        removed = removed_bytes = 0
        for key, size in session.execute(
            select(DigitalObject.storage_key, DigitalObject.size).where(DigitalObject.dossier_id == dossier.id)
        ):
            if key in gone or key in shared:
                continue
            gone.add(key)
            destroy_at_commit(session, store, user, key, why)
            removed, removed_bytes = removed + 1, removed_bytes + size
        session.execute(delete(PageText).where(PageText.dossier_id == dossier.id))  # the OCR text goes too
        entry.objects_removed, entry.bytes_removed = removed, removed_bytes
        total_objects, total_bytes = total_objects + removed, total_bytes + removed_bytes
        dossier.status = DossierStatus.disposed
        record_custody(
            session, dossier, CustodyEventKind.disposed, actor=user, from_org_id=dossier.custodian_id,
            from_slot_id=previous,
            note=f"依销毁清册 {listing.number} 销毁：纸质档案 {dossier.volumes} 卷出架（{entry.shelf_slot}），"
            f"数字对象 {removed} 个自存储中删除",
        )  # fmt: skip
        record_access(
            session, user, AccessAction.disposal_carried_out, client, dossier_id=dossier.id,
            detail=f"依销毁清册 {listing.number} 销毁档案 {dossier.archival_code}：纸质 {dossier.volumes} 卷，"
            f"数字对象 {removed} 个", with_change=True,
        )  # fmt: skip
    listing.status = DisposalStatus.carried_out
    listing.carried_out_by_id, listing.carried_out_at = user.id, datetime.now(UTC)
    session.flush()
    return Outcome(listing, total_objects, total_bytes)


def signers_text(listing: DisposalList) -> str:
    return "、".join(f"{s.signed_by.display_name}（{in_bureau_time(s.signed_at):%Y-%m-%d}，{s.opinion}）"
                    for s in listing.signatures)  # fmt: skip


def list_xlsx(listing: DisposalList, bureau_name: str) -> bytes:
    """The 销毁清册 as a workbook: its heading, every file, the signatures and the carrying out."""
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "销毁清册"
    ws.append([f"{bureau_name} 档案销毁清册 {listing.number}"])
    ws.append(["依据", BASIS])
    ws.append(["鉴定意见", listing.reason])
    ws.append(
        ["编制人", listing.drawn_by.display_name, "编制时间", f"{in_bureau_time(listing.drawn_at):%Y-%m-%d %H:%M}"]
    )
    ws.append(["签批", signers_text(listing) or "未签批"])
    done = listing.carried_out_at
    by = listing.carried_out_by
    ws.append(["状态", listing.status.label, "执行人", by.display_name if by else "",
               "执行时间", f"{in_bureau_time(done):%Y-%m-%d %H:%M}" if done else ""])  # fmt: skip
    ws.append([])
    ws.append(["序号", "档号", "姓名", "人员状态", "状态发生日期", "保管期满日期", "卷数", "页数", "原存放位置",
               "删除数字对象数", "删除字节数"])  # fmt: skip
    for e in listing.entries:
        ws.append([e.row_no, e.archival_code, e.retiree_name, e.state.label, e.state_on.isoformat(),
                   e.due_on.isoformat(), e.volumes, e.pages, e.shelf_slot, e.objects_removed,
                   e.bytes_removed])  # fmt: skip
    return workbook_bytes(wb)  # names and reasons people typed are text, never formulas
