"""Transfer rules: a batch from its register, receiving each volume against its row, both sides'
confirmation, the canonical manifest behind the receipt. Routes, pages and the CLI call these."""

import hashlib
import io
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import Select, func, insert, or_, select, update
from sqlalchemy.orm import Session

from archive_service.auth.models import Role, User
from archive_service.auth.permissions import Action, require
from archive_service.config import get_settings
from archive_service.db import as_utc, bureau_zone
from archive_service.dossiers.models import (
    CustodyEventKind,
    DigitalObject,
    DigitisationState,
    Dossier,
    DossierStatus,
    Retiree,
)
from archive_service.dossiers.service import check_own_fonds, enter_custody, record_custody
from archive_service.errors import ArchiveError, Forbidden, NotFound
from archive_service.numbering import next_in_series
from archive_service.organisations import jurisdiction
from archive_service.organisations.models import Organisation, OrganisationKind
from archive_service.shelving.service import take_off_shelf
from archive_service.transfers import acceptance, catalogues, register
from archive_service.transfers.models import (
    OPEN,
    ItemResult,
    RetainedCopy,
    TransferBatch,
    TransferItem,
    TransferKind,
    TransferStatus,
)
from archive_service.transfers.receipt import ReceiptCheck, read_receipt, receipt_pdf
from storage import ObjectStore

# 条例 第二十五条: the sender hands over within two months, the receiver audits and shelves within two
# months of receipt. Shown as both clocks on the batch (STANDARDS Part A, Custody).
DEADLINE = timedelta(days=61)


def visible_batches(user: User) -> Select[Any]:
    """A bureau sees the batches it receives and the 转递 batches it sends; nobody else's."""
    require(user, Action.view_dossiers)
    return select(TransferBatch).where(
        or_(TransferBatch.to_org_id == user.organisation_id, TransferBatch.from_org_id == user.organisation_id)
    )


def open_batch_count(session: Session, organisation_id: int) -> int:
    """Batches to the bureau not yet closed (the dashboard's tile)."""
    return (
        session.scalar(
            select(func.count())
            .select_from(TransferBatch)
            .where(
                TransferBatch.to_org_id == organisation_id,
                TransferBatch.status.not_in([TransferStatus.confirmed, TransferStatus.cancelled]),
            )
        )
        or 0
    )


def get_batch(session: Session, user: User, batch_id: int, *, lock: bool = False) -> TransferBatch:
    query = visible_batches(user).where(TransferBatch.id == batch_id)
    batch: TransferBatch | None = session.scalar(query.with_for_update(of=TransferBatch) if lock else query)
    if batch is None:
        raise NotFound("该移交批次", "batch_id")
    return batch


# ---- the register -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Handover:
    """Who hands the files over, where it is not the enterprise itself, and on whose approval."""

    managing_unit: str = ""  # 001 第七条, 004 第十二条(一): the present managing unit of a defunct enterprise
    managing_reason: str = ""
    approval_reference: str = ""  # 003 五: 经…人力社保局核准 (文号)

    def checked(self) -> "Handover":
        unit, reason, ref = self.managing_unit.strip(), self.managing_reason.strip(), self.approval_reference.strip()
        if unit and not reason:
            raise ArchiveError(
                "managing_reason.required",
                "由现管理单位移交的，须写明原因（如企业已注销、被吸收合并；红政办规〔2020〕6号 第七条）",
                "managing_reason",
            )
        if reason and not unit:
            raise ArchiveError("managing_unit.required", "写明了代为移交的原因，须填写现管理单位名称", "managing_unit")
        for field, value, limit in (
            ("managing_unit", unit, 200),
            ("managing_reason", reason, 500),
            ("approval_reference", ref, 100),
        ):
            if len(value) > limit:
                raise ArchiveError(f"{field}.too_long", f"不超过 {limit} 个字，实为 {len(value)} 个字", field)
        return Handover(unit, reason, ref)


def import_register(
    session: Session, user: User, enterprise_id: int, data: bytes, filename: str, handover: Handover = Handover()
) -> TransferBatch:
    """Create a batch from an uploaded register. Every problem of every row is reported at once with
    its row and column; a register with any problem saves nothing."""
    require(user, Action.receive_transfers)
    handover = handover.checked()
    bureau = session.get(Organisation, user.organisation_id)
    enterprise = session.get(Organisation, enterprise_id)
    if bureau is None or bureau.kind is not OrganisationKind.bureau:
        raise Forbidden("只有档案馆可以接收移交")
    if enterprise is None or enterprise.kind is not OrganisationKind.enterprise:
        raise NotFound("该企业", "enterprise_id")
    rows, problems = check_register(session, bureau, enterprise, register.read_sheet(data, filename))
    if problems:
        raise ArchiveError.listing("register.rows", "名册", [p.as_dict() for p in problems], "file")
    now = datetime.now(UTC)
    batch = TransferBatch(
        number=_next_number(session, now.year),
        kind=TransferKind.intake,
        from_org_id=enterprise.id,
        to_org_id=bureau.id,
        status=TransferStatus.registered,
        created_by_id=user.id,
        sent_at=now,  # the register arrives with the files: the sender's handover date
        managing_unit=handover.managing_unit,
        managing_reason=handover.managing_reason,
        approval_reference=handover.approval_reference,
    )
    session.add(batch)
    session.flush()
    session.execute(
        insert(TransferItem),
        [
            {
                "batch_id": batch.id,
                "row_no": r.row_no,
                "citizen_id": r.citizen_id,
                "retiree_name": r.name,
                "sex": r.sex,
                "birth_date": r.birth_date,
                "retirement_date": r.retirement_date,
                "work_start_date": r.work_start_date,
                "hukou_region_code": r.hukou_region_code,
                "residence_region_code": r.residence_region_code,
                "insured_region_code": r.insured_region_code,
                "archival_code": r.archival_code,
                "declared_volumes": r.volumes,
                "declared_pages": r.pages,
                "declared_materials": r.materials,
                "missing_materials": r.missing_materials or "",
                "missing_certificate": r.missing_certificate,
                "classified": r.classified,
                "result": ItemResult.pending.value,
                "reason": "",
            }
            for r in rows
        ],
    )
    session.expire(batch, ["items"])
    return batch


def check_register(
    session: Session, bureau: Organisation, enterprise: Organisation, sheet: list[tuple[int, dict[str, Any]]]
) -> tuple[list[register.RegisterRow], list[register.Problem]]:
    """Cell rules (register.check_row) plus the rules that need the batch or the database."""
    rows: list[register.RegisterRow] = []
    problems: list[register.Problem] = []
    parsed: list[tuple[int, dict[str, Any]]] = []  # every row's cells that parsed, good rows or not
    for line, cells in sheet:
        row, found, values = register.check_row(line, cells)
        problems.extend(found)
        parsed.append((line, values))
        if row:
            rows.append(row)
    ids = [v["citizen_id"] for _, v in parsed if v.get("citizen_id")]
    codes = [v["archival_code"] for _, v in parsed if v.get("archival_code")]
    held = _existing(session, Retiree.citizen_id, ids)
    used_codes = _existing(session, Dossier.archival_code, codes)
    pending = _existing(
        session,
        TransferItem.citizen_id,
        ids,
        select(TransferItem.citizen_id)
        .join(TransferBatch)
        .where(TransferBatch.status.in_(OPEN), TransferItem.result == ItemResult.pending),
    )
    prefix = jurisdiction.area_prefix(bureau)
    rule = jurisdiction.rule_of(bureau)
    rule_text = jurisdiction.RULES[rule]
    bureau_of = jurisdiction.bureau_namer(session.scalars(jurisdiction.BUREAUS))
    first: dict[tuple[str, Any], int] = {}

    def problem(line: int, column: str, code: str, message: str) -> None:
        problems.append(register.Problem(line, column, code, message))

    for line, v in parsed:
        for column, key in (("公民身份号码", "citizen_id"), ("序号", "row_no"), ("档号", "archival_code")):
            value = v.get(key)
            if value and (key, value) in first:
                problem(line, column, f"{key}.repeated", f"与第 {first[key, value]} 行重复")
            elif value:
                first[key, value] = line
        cid = v.get("citizen_id")
        if cid in held:
            problem(line, "公民身份号码", "citizen_id.held", "该人员已有档案在馆（或已由他馆保管），不能重复接收")
        elif cid in pending:
            problem(line, "公民身份号码", "citizen_id.in_transfer", "该人员已在另一个未办结的移交批次中")
        if v.get("archival_code"):
            # The fonds first: whether another bureau uses a code of its own fonds is not this bureau's business.
            try:
                check_own_fonds(v["archival_code"], bureau)
                if v["archival_code"] in used_codes:
                    problem(line, "档号", "archival_code.duplicate", f"档号 {v['archival_code']} 已被使用")
            except ArchiveError as e:
                problem(line, "档号", e.code, e.message)
        # Which bureau receives the file: the bureau's own rule (jurisdiction.py), named in the refusal.
        hukou, residence, insured = (
            v.get(k) for k in ("hukou_region_code", "residence_region_code", "insured_region_code")
        )
        if jurisdiction.needs_insured_place(rule) and not insured and "insured_region_code" in v:
            problem(
                line,
                jurisdiction.INSURED,
                "insured_region_code.required",
                f"本馆按参保地接收（{rule_text.basis}），“参保地区划代码”必填",
            )
        elif hukou and residence:
            elsewhere = jurisdiction.place_of_file(rule, prefix, enterprise.region_code, hukou, residence, insured)
            if elsewhere:
                problem(
                    line,
                    elsewhere.column,
                    "retiree.area",
                    f"{elsewhere.reason} 不在本馆辖区（{rule_text.basis}：{rule_text.name}），"
                    f"应移交{bureau_of(elsewhere.code)}",
                )
    problems.sort(key=lambda p: (p.row, register.HEADERS.index(p.column)))
    return (rows if not problems else []), problems


def _existing(session: Session, column: Any, values: list[str], base: Any = None) -> set[str]:
    """Which of the values already exist, asked in chunks (SQLite allows ~32,000 parameters)."""
    found: set[str] = set()
    query: Any = select(column) if base is None else base
    for start in range(0, len(values), 5000):
        chunk = values[start : start + 5000]
        found.update(session.scalars(query.where(column.in_(chunk))))
    return found


def _next_number(session: Session, year: int, kind: TransferKind = TransferKind.intake) -> str:
    prefix = f"{'YJ' if kind is TransferKind.intake else 'ZD'}{year}-"  # 移交 / 转递

    def highest_so_far() -> int:
        last = session.scalar(select(func.max(TransferBatch.number)).where(TransferBatch.number.startswith(prefix)))
        return int(last.rsplit("-", 1)[1]) if last else 0

    return f"{prefix}{next_in_series(session, prefix.rstrip('-'), highest_so_far):04d}"


def list_batches(session: Session, user: User) -> Sequence[TransferBatch]:
    return session.scalars(visible_batches(user).order_by(TransferBatch.id.desc()).limit(500)).all()


@dataclass(frozen=True)
class Progress:
    total: int
    checked: int
    accepted: int  # incl. with a discrepancy
    discrepancies: int
    rejected: int
    volumes: int  # received (accepted items)
    pages: int
    sender_due: date | None  # the sender's 2-month clock (from when the files were ready)
    receiver_due: date | None  # the receiver's: audit and shelve within 2 months of receipt

    @property
    def pending(self) -> int:
        return self.total - self.checked


def progress(session: Session, batch: TransferBatch) -> Progress:
    counts = dict(
        session.execute(
            select(TransferItem.result, func.count())
            .where(TransferItem.batch_id == batch.id)
            .group_by(TransferItem.result)
        ).all()
    )
    volumes, pages = session.execute(
        select(
            func.coalesce(func.sum(TransferItem.received_volumes), 0),
            func.coalesce(func.sum(TransferItem.received_pages), 0),
        ).where(
            TransferItem.batch_id == batch.id, TransferItem.result.in_([ItemResult.accepted, ItemResult.discrepancy])
        )
    ).one()
    total = sum(counts.values())
    accepted = counts.get(ItemResult.accepted, 0) + counts.get(ItemResult.discrepancy, 0)
    return Progress(
        total=total,
        checked=total - counts.get(ItemResult.pending, 0),
        accepted=accepted,
        discrepancies=counts.get(ItemResult.discrepancy, 0),
        rejected=counts.get(ItemResult.rejected, 0),
        volumes=int(volumes or 0),
        pages=int(pages or 0),
        sender_due=(batch.created_at + DEADLINE).date() if batch.created_at else None,
        receiver_due=(batch.received_at + DEADLINE).date() if batch.received_at else None,
    )


# ---- receiving --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Check:
    """What the clerk found for one volume. Counts left empty mean "as on the register"."""

    key: str  # scanned archival code, citizen ID, or "#row"
    result: ItemResult = ItemResult.accepted
    reason: str = ""
    volumes: int | None = None
    pages: int | None = None
    materials: int | None = None


def find_item(session: Session, batch: TransferBatch, key: str) -> TransferItem:
    key = key.strip().upper()
    if not key:
        raise ArchiveError("key.required", "请扫描档号条码或输入公民身份号码", "key", 422)
    query = select(TransferItem).where(TransferItem.batch_id == batch.id)
    if key.startswith("#") and key[1:].isdigit():
        item = session.scalar(query.where(TransferItem.row_no == int(key[1:])))
    else:
        item = session.scalar(query.where(or_(TransferItem.archival_code == key, TransferItem.citizen_id == key)))
    if item is None:
        raise ArchiveError("key.not_in_register", f"“{key}”不在本批次名册中", "key", 404)
    return item


def receive(session: Session, user: User, batch_id: int, check: Check) -> TransferItem:
    """Record the check of one volume against its register row. The batch row is locked for the
    moment of the check, and the item changes only from pending: two clerks never count one volume twice."""
    require(user, Action.receive_transfers)
    batch = get_batch(session, user, batch_id, lock=True)
    if batch.to_org_id != user.organisation_id:
        raise Forbidden("只有接收方可以登记接收")
    if batch.status not in (TransferStatus.registered, TransferStatus.receiving):
        raise ArchiveError(
            "batch.closed", f"批次 {batch.number} 状态为{batch.status.label}，不能再登记", "batch_id", 409
        )
    item = find_item(session, batch, check.key)
    if item.classified and user.role is not Role.archivist:
        raise Forbidden("涉密档案须由档案管理员接收")
    result, reason = check.result, check.reason.strip()
    counts = {
        "volumes": check.volumes if check.volumes is not None else item.declared_volumes,
        "pages": check.pages if check.pages is not None else item.declared_pages,
        "materials": check.materials if check.materials is not None else item.declared_materials,
    }
    for name, value in counts.items():
        if not 0 <= value <= 100000:
            raise ArchiveError(f"{name}.range", "数量须在 0–100000 之间", name, 422)
    differs = (counts["volumes"], counts["pages"], counts["materials"]) != (
        item.declared_volumes,
        item.declared_pages,
        item.declared_materials,
    )
    if result is ItemResult.pending:
        raise ArchiveError("result.pending", "请选择接收、有差异接收或退回", "result", 422)
    if result is ItemResult.rejected and not reason:
        raise ArchiveError("reason.required", "退回须写明原因", "reason", 422)
    if result is not ItemResult.rejected:
        if counts["volumes"] < 1:
            raise ArchiveError("volumes.range", "接收的卷数至少为 1", "volumes", 422)
        result = ItemResult.discrepancy if differs else ItemResult.accepted
        if differs and not reason:
            reason = _difference(item, counts)
    claimed = session.execute(  # type: ignore[attr-defined]
        update(TransferItem)
        .where(TransferItem.id == item.id, TransferItem.result == ItemResult.pending)
        .values(
            result=result,
            reason=reason,
            received_volumes=counts["volumes"] if result is not ItemResult.rejected else None,
            received_pages=counts["pages"] if result is not ItemResult.rejected else None,
            received_materials=counts["materials"] if result is not ItemResult.rejected else None,
            checked_by_id=user.id,
            checked_at=datetime.now(UTC),
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    if claimed != 1:
        session.refresh(item)
        raise ArchiveError(
            "item.already_checked",
            f"第 {item.row_no} 行（{item.retiree_name}）已登记为“{item.result.label}”，不能重复登记",
            "key",
            409,
        )
    session.refresh(item)
    if batch.status is TransferStatus.registered:
        # Two desks may check in the batch's first volumes at the same moment: the first one opens receiving,
        # the other finds it open (a conditional update, not the batch's version check, which would refuse it).
        session.execute(
            update(TransferBatch)
            .where(TransferBatch.id == batch.id, TransferBatch.status == TransferStatus.registered)
            .values(status=TransferStatus.receiving, received_at=datetime.now(UTC), version=TransferBatch.version + 1)
            .execution_options(synchronize_session=False)
        )
        session.refresh(batch)
    if batch.kind is TransferKind.onward:
        _settle_onward_item(session, user, batch, item)
    elif result is not ItemResult.rejected:
        item.dossier_id = _take_into_custody(session, user, batch, item).id
    session.flush()
    return item


def _difference(item: TransferItem, counts: dict[str, int]) -> str:
    parts = []
    for label, declared, found in (
        ("卷数", item.declared_volumes, counts["volumes"]),
        ("页数", item.declared_pages, counts["pages"]),
        ("材料份数", item.declared_materials, counts["materials"]),
    ):
        if declared != found:
            parts.append(f"{label}名册 {declared}、实收 {found}")
    return "；".join(parts)


def _take_into_custody(session: Session, user: User, batch: TransferBatch, item: TransferItem) -> Dossier:
    """The accepted volume becomes a dossier in the bureau's custody, its arrival a custody event."""
    bureau = session.get(Organisation, batch.to_org_id)
    assert bureau is not None
    # Registered elsewhere since the register was checked (by hand, or by another bureau): said, never a 500.
    if session.scalar(select(Retiree.id).where(Retiree.citizen_id == item.citizen_id)):
        raise ArchiveError(
            "citizen_id.held", f"{item.retiree_name} 的档案已另行登记在馆（或由他馆保管），不能重复接收", "key", 409
        )
    if item.archival_code and session.scalar(select(Dossier.id).where(Dossier.archival_code == item.archival_code)):
        raise ArchiveError("archival_code.duplicate", f"档号 {item.archival_code} 已被使用", "key", 409)
    retiree = Retiree(
        name=item.retiree_name,
        sex=item.sex,
        citizen_id=item.citizen_id,
        birth_date=item.birth_date,
        work_start_date=item.work_start_date,
        retirement_date=item.retirement_date,
        enterprise_id=batch.from_org_id,
        hukou_region_code=item.hukou_region_code,
        residence_region_code=item.residence_region_code,
        insured_region_code=item.insured_region_code,
        classified_unit=item.classified,
    )
    dossier = enter_custody(
        session, user, bureau, retiree,
        archival_code=item.archival_code or None,
        volumes=item.received_volumes or item.declared_volumes,
        pages=item.received_pages or 0,
        class_scheme="enterprise-1992",
        from_org_id=batch.from_org_id,
        transfer_batch_id=batch.id,
        note=f"移交批次 {batch.number} 第 {item.row_no} 行" + (f"（{item.reason}）" if item.reason else ""),
    )  # fmt: skip
    catalogues.apply_waiting(session, user, item, dossier)
    return dossier


# ---- 转递: sending files on to another bureau ----------------------------------------------------


def send_onward(
    session: Session, user: User, to_org_id: int, archival_codes: Sequence[str], note: str = ""
) -> TransferBatch:
    """Send files to the bureau of the place a retiree moved to (002 第二十二条): one batch, the same
    register, receiving and confirmation as an intake. The files leave the shelves now and stay in
    transfer until the receiving bureau checks them in. Every problem is listed; any problem sends nothing."""
    require(user, Action.send_onward)
    target = session.get(Organisation, to_org_id)
    if target is None or target.kind is not OrganisationKind.bureau or target.id == user.organisation_id:
        raise ArchiveError("to_org_id.bureau", "请选择另一个档案馆作为接收方", "to_org_id", 422)
    codes = list(dict.fromkeys(c.strip().upper() for c in archival_codes if c.strip()))
    if not codes:
        raise ArchiveError("archival_codes.required", "请扫描或输入要转递的档号", "archival_codes", 422)
    if not 2 <= len(note.strip()) <= 500:
        raise ArchiveError("note.required", "请写明转递原因（如：户籍迁至某地，2–500 字）", "note", 422)
    found = {
        d.archival_code: d
        for d in session.scalars(
            select(Dossier).where(Dossier.archival_code.in_(codes), Dossier.custodian_id == user.organisation_id)
        )
    }
    problems = []
    for n, code in enumerate(codes, start=1):
        dossier = found.get(code)
        if dossier is None:
            problems.append(register.Problem(n, "档号", "archival_code.not_held", f"本馆没有档号为 {code} 的档案"))
        elif dossier.status is not DossierStatus.in_custody:
            problems.append(
                register.Problem(
                    n, "档号", "dossier.status", f"{code} 状态为{dossier.status.label}，在馆的档案才能转递"
                )
            )
    if problems:
        raise ArchiveError(
            "archival_codes.rows",
            f"{len(problems)} 个档号不能转递，未转递任何档案：" + "；".join(p.message for p in problems[:5]),
            "archival_codes",
            422,
            problems=[p.as_dict() for p in problems],
        )
    now = datetime.now(UTC)
    batch = TransferBatch(
        number=_next_number(session, now.year, TransferKind.onward),
        kind=TransferKind.onward,
        from_org_id=user.organisation_id,
        to_org_id=target.id,
        status=TransferStatus.registered,
        created_by_id=user.id,
        sent_at=now,
        note=note.strip(),
    )
    session.add(batch)
    session.flush()
    for n, code in enumerate(codes, start=1):
        dossier = found[code]
        r = dossier.retiree
        session.add(
            TransferItem(
                batch_id=batch.id,
                row_no=n,
                citizen_id=r.citizen_id,
                retiree_name=r.name,
                sex=r.sex,
                birth_date=r.birth_date,
                retirement_date=r.retirement_date,
                work_start_date=r.work_start_date,
                hukou_region_code=r.hukou_region_code,
                residence_region_code=r.residence_region_code,
                insured_region_code=r.insured_region_code,
                archival_code=code,
                declared_volumes=dossier.volumes,
                declared_pages=dossier.pages,
                declared_materials=len(dossier.materials),
                classified=r.classified_unit,
                dossier_id=dossier.id,
                result=ItemResult.pending,
            )
        )
        slot = take_off_shelf(session, dossier)
        dossier.status = DossierStatus.in_transfer
        record_custody(
            session,
            dossier,
            CustodyEventKind.transfer_sent,
            actor=user,
            from_org_id=user.organisation_id,
            to_org_id=target.id,
            from_slot_id=slot,
            transfer_batch_id=batch.id,
            note=f"转递批次 {batch.number} 至 {target.name}：{batch.note}",
        )
    session.flush()
    session.expire(batch, ["items"])
    return batch


def _settle_onward_item(session: Session, user: User, batch: TransferBatch, item: TransferItem) -> None:
    """A checked 转递 volume: accepted, the receiving bureau becomes its custodian (and the sender keeps
    a copy of the digitised file if so configured); rejected, it goes back to the sender."""
    dossier = session.get(Dossier, item.dossier_id)
    assert dossier is not None
    returned = item.result is ItemResult.rejected
    if not returned:
        if get_settings().onward_digital_copy == "retain":
            objects = session.scalars(
                select(DigitalObject).where(DigitalObject.dossier_id == dossier.id, DigitalObject.role == "use_copy")
            ).all()
            session.add_all(
                RetainedCopy(
                    organisation_id=batch.from_org_id,
                    dossier_id=dossier.id,
                    digital_object_id=obj.id,
                    transfer_batch_id=batch.id,
                )
                for obj in objects
            )
        dossier.custodian_id = batch.to_org_id
    dossier.status = DossierStatus.in_custody
    record_custody(
        session,
        dossier,
        CustodyEventKind.received,
        actor=user,
        from_org_id=batch.to_org_id if returned else batch.from_org_id,
        to_org_id=batch.from_org_id if returned else batch.to_org_id,
        transfer_batch_id=batch.id,
        note=f"转递批次 {batch.number} "
        + (
            f"被退回：{item.reason}"
            if returned
            else f"第 {item.row_no} 行" + (f"（{item.reason}）" if item.reason else "")
        ),
    )


def retained_copies(session: Session, user: User, batch_id: int) -> dict[int, DigitalObject]:
    """The copies the sending bureau kept of a 转递 batch's files: dossier id → latest retained use copy."""
    require(user, Action.read_digital_copy)
    batch = get_batch(session, user, batch_id)
    rows = session.execute(
        select(RetainedCopy.dossier_id, DigitalObject)
        .join(DigitalObject, DigitalObject.id == RetainedCopy.digital_object_id)
        .where(RetainedCopy.transfer_batch_id == batch.id, RetainedCopy.organisation_id == user.organisation_id)
        .order_by(DigitalObject.version)
    ).all()
    return {dossier_id: obj for dossier_id, obj in rows}


# ---- acceptance of the digitised copies -------------------------------------------------------


def _batch_for_acceptance(session: Session, user: User, batch_id: int) -> TransferBatch:
    require(user, Action.digitise)  # the archivist's work, like digitising itself
    batch = get_batch(session, user, batch_id, lock=True)
    if batch.to_org_id != user.organisation_id:
        raise Forbidden("只有接收方可以验收")
    if batch.status in (TransferStatus.confirmed, TransferStatus.cancelled):
        raise ArchiveError("batch.closed", f"批次状态为{batch.status.label}，不能再验收", "batch_id", 409)
    if progress(session, batch).pending:
        raise ArchiveError("batch.pending_items", "名册中的档案全部核对后才能验收数字化成果", "batch_id", 409)
    return batch


def start_acceptance(session: Session, store: ObjectStore, user: User, batch_id: int) -> dict[str, Any]:
    return acceptance.start(session, store, user, _batch_for_acceptance(session, user, batch_id))


def inspect_sample(
    session: Session, user: User, batch_id: int, dossier_id: int, marks: dict[str, bool], note: str = ""
) -> dict[str, Any]:
    return acceptance.inspect(session, user, _batch_for_acceptance(session, user, batch_id), dossier_id, marks, note)


def conclude_acceptance(session: Session, user: User, batch_id: int) -> dict[str, Any]:
    return acceptance.conclude(session, user, _batch_for_acceptance(session, user, batch_id))


# ---- confirmation and the manifest ------------------------------------------------------------


# Enterprises digitise files before handing them over; a bureau may still take some in on paper,
# but says why when it confirms, and they wait in the digitisation backlog (digitisation.backlog).
PAPER_ONLY = "000 §三(二)2、002 第九条(四)、003 二(三)：移交前应完成数字化"


def undigitised(session: Session, batch: TransferBatch) -> int:
    """How many of the files received in an intake batch have no finished digitised copy."""
    if batch.kind is not TransferKind.intake:
        return 0
    return session.scalar(
        select(func.count())
        .select_from(TransferItem)
        .join(Dossier, Dossier.id == TransferItem.dossier_id)
        .where(
            TransferItem.batch_id == batch.id,
            TransferItem.result.in_([ItemResult.accepted, ItemResult.discrepancy]),
            Dossier.digitisation != DigitisationState.done,
        )
    ) or 0


def confirm(
    session: Session, user: User, batch_id: int, side: str, sender_name: str = "", paper_reason: str = ""
) -> TransferBatch:
    """Record one side's confirmation; when both have confirmed the batch is closed for good and its
    manifest's SHA-256 fixed. The sending enterprise has no account here: the clerk records the name of
    the person who signed the paper 交接书 for it. The bureau's own confirmation of files received
    on paper only carries its reason (PAPER_ONLY)."""
    batch = get_batch(session, user, batch_id, lock=True)
    onward_sender = batch.kind is TransferKind.onward and side == "sender"
    if onward_sender:  # both bureaus use this system: the sender confirms for itself
        require(user, Action.send_onward)
        if batch.from_org_id != user.organisation_id:
            raise Forbidden("只有转出馆可以确认转出")
        sender_name = f"{user.display_name}（{batch.from_org.name}）"
    else:
        require(user, Action.receive_transfers)
        if batch.to_org_id != user.organisation_id:
            raise Forbidden("只有接收方可以登记确认")
    if batch.status not in (TransferStatus.receiving, TransferStatus.received):
        raise ArchiveError("batch.status", f"批次状态为{batch.status.label}，不能确认", "batch_id", 409)
    still = progress(session, batch).pending
    if still:
        raise ArchiveError("batch.pending_items", f"尚有 {still} 份档案未核对，不能确认", "batch_id", 409)
    if acceptance.has_digital_copies(session, batch) and (batch.acceptance or {}).get("result") != "passed":
        raise ArchiveError(
            "acceptance.not_passed", "本批次有数字化成果，验收合格后才能确认（DA/T 31 12.3）", "batch_id", 409
        )
    batch.status = TransferStatus.received
    now = datetime.now(UTC)
    if side == "sender":
        name = sender_name.strip()
        if not 2 <= len(name) <= 100:
            raise ArchiveError("sender_name.required", "请填写移交方经办人姓名（2–100 字）", "sender_name", 422)
        if batch.sender_confirmed_at:
            raise ArchiveError("sender.confirmed", "移交方已确认", "side", 409)
        batch.sender_confirmed_by, batch.sender_confirmed_at = name, now
    elif side == "receiver":
        if batch.receiver_confirmed_at:
            raise ArchiveError("receiver.confirmed", "接收方已确认", "side", 409)
        paper = undigitised(session, batch)
        reason = paper_reason.strip()
        if paper and len(reason) < 4:
            raise ArchiveError(
                "paper_reason.required",
                f"本批次有 {paper} 份档案尚未数字化（{PAPER_ONLY}），接收纸质档案须填写理由（至少 4 个字）",
                "paper_reason",
                422,
            )
        batch.paper_reason = reason if paper else ""
        batch.receiver_confirmed_by_id, batch.receiver_confirmed_at = user.id, now
    else:
        raise ArchiveError("side.unknown", "确认方应为 sender（移交方）或 receiver（接收方）", "side", 422)
    if batch.sender_confirmed_at and batch.receiver_confirmed_at:
        batch.status = TransferStatus.confirmed
        session.flush()
        batch.manifest_sha256 = manifest_sha256(manifest(session, batch))
    session.flush()
    return batch


def manifest(session: Session, batch: TransferBatch) -> dict[str, Any]:
    """What was handed over, in a canonical form both sides can recompute: parties, confirmations,
    and every register row with its result."""
    receiver = session.get(User, batch.receiver_confirmed_by_id) if batch.receiver_confirmed_by_id else None
    # A bureau outside this installation confirms by its signed return slip (transfers/onward.py).
    receiver_name = receiver.display_name if receiver else batch.return_slip_signer
    items = session.scalars(
        select(TransferItem).where(TransferItem.batch_id == batch.id).order_by(TransferItem.row_no)
    ).all()
    codes = dict(
        session.execute(
            select(Dossier.id, Dossier.archival_code).where(
                Dossier.id.in_([i.dossier_id for i in items if i.dossier_id])
            )
        ).all()
    )
    # Present only when given, so a receipt made before these were recorded recomputes to the same hash.
    handover = {
        k: v
        for k, v in (
            ("managing_unit", batch.managing_unit),
            ("managing_reason", batch.managing_reason),
            ("approval_reference", batch.approval_reference),
        )
        if v
    }
    paper = {"paper_reason": batch.paper_reason} if batch.paper_reason else {}
    return {
        "manifest": "archive-custody/transfer-receipt/1",
        "number": batch.number,
        "kind": batch.kind.value,
        "from": {"name": batch.from_org.name, "credit_code": batch.from_org.credit_code, **handover},
        "to": {"name": batch.to_org.name, "credit_code": batch.to_org.credit_code},
        "sender_confirmed": {"by": batch.sender_confirmed_by, "at": _iso(batch.sender_confirmed_at)},
        "receiver_confirmed": {
            "by": receiver_name,
            "at": _iso(batch.receiver_confirmed_at),
        },
        "acceptance": batch.acceptance,
        **paper,
        **(
            {"return_slip": {"signed_on": batch.return_slip_signed_on.isoformat(), "sha256": batch.return_slip_sha256}}
            if batch.return_slip_signed_on
            else {}
        ),
        "items": [
            {
                "row": i.row_no,
                "citizen_id": i.citizen_id,
                "name": i.retiree_name,
                "archival_code": codes.get(i.dossier_id) if i.dossier_id else i.archival_code,
                "declared": [i.declared_volumes, i.declared_pages, i.declared_materials],
                "received": [i.received_volumes, i.received_pages, i.received_materials],
                "result": i.result.value,
                "reason": i.reason,
                "missing_materials": i.missing_materials,
                "classified": i.classified,
            }
            for i in items
        ],
    }


def _iso(at: datetime | None) -> str | None:
    if at is None:
        return None
    return as_utc(at).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def canonical(data: dict[str, Any]) -> bytes:
    return orjson.dumps(data, option=orjson.OPT_SORT_KEYS)


def manifest_sha256(data: dict[str, Any]) -> str:
    return hashlib.sha256(canonical(data)).hexdigest()


# ---- the receipt ------------------------------------------------------------------------------


def receipt(session: Session, user: User, batch_id: int) -> bytes:
    """The 交接书 of a confirmed batch. Refused if the records changed since both sides confirmed."""
    batch = get_batch(session, user, batch_id)
    if batch.status is not TransferStatus.confirmed:
        raise ArchiveError("batch.not_confirmed", "双方确认后才能生成交接书", "batch_id", 409)
    data = manifest(session, batch)
    text = canonical(data)
    sha = hashlib.sha256(text).hexdigest()
    if sha != batch.manifest_sha256:
        raise ArchiveError(
            "manifest.changed", "该批次的记录在双方确认后被改动（清单摘要与确认时不一致），请核查", "batch_id", 409
        )
    return receipt_pdf(data, text, sha)


def verify_receipt(session: Session, data: bytes) -> ReceiptCheck:
    """A receipt's attached manifest against the hash it prints and, when this installation holds the
    batch, against the hash fixed at confirmation and the records as they stand now."""
    found, _, check = read_receipt(data)
    problems = list(check.problems)
    if found is not None:
        batch = session.scalar(select(TransferBatch).where(TransferBatch.number == found.get("number")))
        if batch is None:
            problems.append(f"本系统没有批次 {found.get('number')}（只核对了交接书自身）")
        else:
            if batch.manifest_sha256 != check.computed:
                problems.append(f"与本系统确认时记录的清单摘要 {batch.manifest_sha256} 不一致")
            if manifest_sha256(manifest(session, batch)) != batch.manifest_sha256:
                problems.append("本系统中的批次记录在确认后被改动")
    return replace(check, problems=problems)


# ---- statistics -------------------------------------------------------------------------------


@dataclass
class MonthFigures:
    enterprise: str
    month: str  # YYYY-MM
    expected: int = 0  # register rows of batches registered that month
    received: int = 0  # volumes checked in (incl. with a discrepancy) that month
    rejected: int = 0  # returned to the enterprise that month
    digitised: int = 0  # received files whose first digitised copy was made that month


def statistics(session: Session, user: User, year: int | None = None) -> list[MonthFigures]:
    """Per enterprise and month: files expected, received, rejected and digitised (intake batches only)."""
    require(user, Action.view_dossiers)
    if year is not None and not 2000 <= year <= 2100:
        raise ArchiveError("year.range", "年份须在 2000–2100 之间", "year", 422)
    ours = (TransferBatch.to_org_id == user.organisation_id, TransferBatch.kind == TransferKind.intake)
    figures: dict[tuple[str, str], MonthFigures] = {}

    def count(enterprise: str, at: datetime | None, field: str) -> None:
        if at is None:
            return
        local = as_utc(at).astimezone(bureau_zone())  # months are counted in the bureau's local time
        if year is not None and local.year != year:
            return
        key = (enterprise, f"{local:%Y-%m}")
        row = figures.setdefault(key, MonthFigures(*key))
        setattr(row, field, getattr(row, field) + 1)

    items = session.execute(
        select(Organisation.name, TransferBatch.created_at, TransferItem.result, TransferItem.checked_at)
        .select_from(TransferItem)
        .join(TransferBatch, TransferItem.batch_id == TransferBatch.id)
        .join(Organisation, Organisation.id == TransferBatch.from_org_id)
        .where(*ours)
    )
    for enterprise, registered_at, result, checked_at in items:
        count(enterprise, registered_at, "expected")
        if result in (ItemResult.accepted, ItemResult.discrepancy):
            count(enterprise, checked_at, "received")
        elif result is ItemResult.rejected:
            count(enterprise, checked_at, "rejected")
    digitised = session.execute(
        select(Organisation.name, func.min(DigitalObject.created_at))
        .select_from(TransferItem)
        .join(TransferBatch, TransferItem.batch_id == TransferBatch.id)
        .join(Organisation, Organisation.id == TransferBatch.from_org_id)
        .join(DigitalObject, (DigitalObject.dossier_id == TransferItem.dossier_id) & (DigitalObject.role == "use_copy"))
        .where(*ours)
        .group_by(TransferItem.id, Organisation.name)
    )
    for enterprise, first_copy_at in digitised:
        count(enterprise, first_copy_at, "digitised")
    return sorted(figures.values(), key=lambda f: (f.month, f.enterprise))


STATISTICS_HEADERS = ("企业", "月份", "应移交（名册）", "已接收", "退回", "已数字化")


def statistics_xlsx(rows: list[MonthFigures]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "移交接收统计"
    sheet.append(list(STATISTICS_HEADERS))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for r in rows:
        sheet.append([r.enterprise, r.month, r.expected, r.received, r.rejected, r.digitised])
    sheet.append(
        ["合计", "", *(sum(getattr(r, f) for r in rows) for f in ("expected", "received", "rejected", "digitised"))]
    )
    sheet.column_dimensions["A"].width = 32
    sheet.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
