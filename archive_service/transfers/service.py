"""Transfer rules: a batch from its register, receiving each volume against its row, both sides'
confirmation, the canonical manifest behind the receipt. Routes, pages and the CLI call these."""

import calendar
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Select, func, insert, or_, select
from sqlalchemy.orm import Session

from archive_service.auth.models import User
from archive_service.auth.permissions import Action, require
from archive_service.db import bureau_today, in_bureau_time
from archive_service.dossiers.models import (
    DigitisationState,
    Dossier,
    Retiree,
)
from archive_service.dossiers.service import check_own_fonds
from archive_service.errors import ArchiveError, Forbidden, NotFound
from archive_service.numbering import next_in_series
from archive_service.organisations import jurisdiction
from archive_service.organisations.models import Organisation, OrganisationKind
from archive_service.transfers import acceptance, certificates, register
from archive_service.transfers.models import (
    OPEN,
    ItemResult,
    TransferBatch,
    TransferItem,
    TransferKind,
    TransferStatus,
)
from archive_service.transfers.receipt import (
    ReceiptCheck,
    canonical,
    manifest,
    manifest_sha256,
    read_receipt,
    receipt_pdf,
)
from storage import ObjectStore

# 条例 第二十五条: the sender hands over within two months, the receiver audits and shelves within two
# months of receipt. Shown as both clocks on the batch (STANDARDS Part A, Custody).
DEADLINE_MONTHS = 2
# A file is handed over once its person has retired (000 四(二): 企业职工办理退休手续后…常态化移交; 001 第七条).
NOT_RETIRED = (
    "依据 重庆市市属国有重点企业退休人员社会化管理试点工作实施方案 四(二)、红政办规〔2020〕6号 第七条，"
    "办理退休手续后方可移交"
)


def months_after(moment: datetime, months: int = DEADLINE_MONTHS) -> date:
    """The same day `months` calendar months after the bureau's date of `moment` (the month's last day when
    it has no such day: 12-31 → 02-28): a batch registered on 1 January at 01:30 Beijing time is due on
    1 March, not 61 days after 31 December UTC."""
    return add_months(in_bureau_time(moment).date(), months)


def add_months(day: date, months: int) -> date:
    """The same day `months` calendar months later, or that month's last day when it has no such day."""
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


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
        number=next_batch_number(session, now.year),
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
                "secrecy": r.secrecy,
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
    held = _held_by(session, bureau, ids)
    used_codes = _existing(session, Dossier.archival_code, codes)
    pending = _pending_in(session, bureau, ids)
    prefix = jurisdiction.area_prefix(bureau)
    rule = jurisdiction.rule_of(bureau)
    rule_text = jurisdiction.RULES[rule]
    bureau_of = jurisdiction.bureau_namer(session.scalars(jurisdiction.BUREAUS))
    today = bureau_today()
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
            problem(line, "公民身份号码", "citizen_id.held", f"该人员的档案{held[cid]}，不能重复接收")
        elif cid in pending:
            problem(line, "公民身份号码", "citizen_id.in_transfer", f"该人员已在{pending[cid]}中")
        if v.get("archival_code"):
            # The fonds first: whether another bureau uses a code of its own fonds is not this bureau's business.
            try:
                check_own_fonds(v["archival_code"], bureau)
                if v["archival_code"] in used_codes:
                    problem(line, "档号", "archival_code.duplicate", f"档号 {v['archival_code']} 已被使用")
            except ArchiveError as e:
                problem(line, "档号", e.code, e.message)
        if v.get("retirement_date") and v["retirement_date"] > today:  # 000 四(二): 办理退休手续后 … 移交
            problem(
                line,
                "退休时间",
                "retiree.not_retired",
                f"退休时间 {v['retirement_date']} 晚于今天，尚未退休：{NOT_RETIRED}",
            )
        if v.get("lixiu") and not bureau.accepts_lixiu:  # 000 一: only a bureau set to accept them
            problem(line, "离休", "retiree.lixiu", jurisdiction.lixiu_refusal())
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
            elsewhere = jurisdiction.place_of_file(rule, prefix, enterprise, hukou, residence, insured)
            if elsewhere:
                problem(
                    line,
                    elsewhere.column,
                    "retiree.area",
                    f"{elsewhere.reason} 不在本馆辖区（{rule_text.basis}：{rule_text.name}），"
                    f"应移交{bureau_of(elsewhere.code)}",
                )
    names = {line: str(cells.get("姓名") or "").strip()[:50] for line, cells in sheet}
    problems = [replace(p, name=names.get(p.row, "")) for p in problems]
    problems.sort(key=lambda p: (p.row, register.HEADERS.index(p.column)))
    return (rows if not problems else []), problems


def _held_by(session: Session, bureau: Organisation, ids: list[str]) -> dict[str, str]:
    """Where each already-held person's file is: this bureau's 档号, or the bureau that holds it (its 档号
    is that bureau's business)."""
    found: dict[str, str] = {}
    for start in range(0, len(ids), 5000):
        for cid, code, custodian_id, custodian in session.execute(
            select(Retiree.citizen_id, Dossier.archival_code, Dossier.custodian_id, Organisation.name)
            .outerjoin(Dossier, Dossier.retiree_id == Retiree.id)
            .outerjoin(Organisation, Organisation.id == Dossier.custodian_id)
            .where(Retiree.citizen_id.in_(ids[start : start + 5000]))
        ):
            if cid is None:  # never: rows are found by their ID (only a ledger's stock may lack one)
                continue
            if custodian_id == bureau.id:
                found[cid] = f"已在本馆（档号 {code}）"
            else:
                found[cid] = f"由{custodian}保管（须由该馆转递）" if custodian else "已登记在本系统中"
    return found


def _pending_in(session: Session, bureau: Organisation, ids: list[str]) -> dict[str, str]:
    """The open batch each person is already in: this bureau's by number, another's by its name."""
    found: dict[str, str] = {}
    for start in range(0, len(ids), 5000):
        for cid, number, to_org_id, to_org in session.execute(
            select(TransferItem.citizen_id, TransferBatch.number, TransferBatch.to_org_id, Organisation.name)
            .join(TransferBatch, TransferBatch.id == TransferItem.batch_id)
            .join(Organisation, Organisation.id == TransferBatch.to_org_id)
            .where(
                TransferBatch.status.in_(OPEN),
                TransferItem.result == ItemResult.pending,
                TransferItem.citizen_id.in_(ids[start : start + 5000]),
            )
        ):
            found[cid] = f"本馆未办结的移交批次 {number}" if to_org_id == bureau.id else f"{to_org}未办结的移交批次"
    return found


def _existing(session: Session, column: Any, values: list[str]) -> set[str]:
    """Which of the values already exist, asked in chunks (SQLite allows ~32,000 parameters)."""
    found: set[str] = set()
    for start in range(0, len(values), 5000):
        found.update(session.scalars(select(column).where(column.in_(values[start : start + 5000]))))
    return found


def next_batch_number(session: Session, year: int, kind: TransferKind = TransferKind.intake) -> str:
    prefix = f"{'YJ' if kind is TransferKind.intake else 'ZD'}{year}-"  # 移交 / 转递

    def highest_so_far() -> int:
        last = session.scalar(select(func.max(TransferBatch.number)).where(TransferBatch.number.startswith(prefix)))
        return int(last.rsplit("-", 1)[1]) if last else 0

    return f"{prefix}{next_in_series(session, prefix.rstrip('-'), highest_so_far):04d}"


def list_batches(session: Session, user: User) -> Sequence[TransferBatch]:
    return session.scalars(visible_batches(user).order_by(TransferBatch.id.desc()).limit(500)).all()


@dataclass(frozen=True)
class BatchProgress:
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


def progress(session: Session, batch: TransferBatch) -> BatchProgress:
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
    return BatchProgress(
        total=total,
        checked=total - counts.get(ItemResult.pending, 0),
        accepted=accepted,
        discrepancies=counts.get(ItemResult.discrepancy, 0),
        rejected=counts.get(ItemResult.rejected, 0),
        volumes=int(volumes or 0),
        pages=int(pages or 0),
        sender_due=months_after(batch.created_at) if batch.created_at else None,
        receiver_due=months_after(batch.received_at) if batch.received_at else None,
    )


# ---- 转递 (transfers/onward.py) and receiving (transfers/receiving.py) live beside this module.


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
    return (
        session.scalar(
            select(func.count())
            .select_from(TransferItem)
            .join(Dossier, Dossier.id == TransferItem.dossier_id)
            .where(
                TransferItem.batch_id == batch.id,
                TransferItem.result.in_([ItemResult.accepted, ItemResult.discrepancy]),
                Dossier.digitisation != DigitisationState.done,
            )
        )
        or 0
    )


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
    acceptance.require_judged(session, batch)
    certificates.require_certificates(session, batch)  # 001 第九条(一): 证明材料一并移交
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
    # A 转递's reason is printed as on its 转递单 (onward.onward_slip): beside the manifest, whose hash it predates.
    return receipt_pdf({**data, "note": batch.note} if batch.kind is TransferKind.onward else data, text, sha)


def verify_receipt(session: Session, data: bytes, user: User | None = None) -> ReceiptCheck:
    """A receipt's attached manifest against the hash it prints and, when this installation holds the
    batch, against the hash fixed at confirmation and the records as they stand now. A person checks it
    against their own bureau's batches (`user`); the operator's command against all."""
    found, _, check = read_receipt(data)
    problems = list(check.problems)
    if found is not None:
        batches = visible_batches(user) if user is not None else select(TransferBatch)
        batch = session.scalar(batches.where(TransferBatch.number == found.get("number")))
        if batch is None:
            problems.append(f"本系统没有批次 {found.get('number')}（只核对了交接书自身）")
        else:
            if batch.manifest_sha256 != check.computed:
                problems.append(f"与本系统确认时记录的清单摘要 {batch.manifest_sha256} 不一致")
            if manifest_sha256(manifest(session, batch)) != batch.manifest_sha256:
                problems.append("本系统中的批次记录在确认后被改动")
    return replace(check, problems=problems)
