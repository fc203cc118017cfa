"""Register intake: a 移交 batch made from the enterprise's register (档案移交名册). The cell rules are
register.py's; here are the rules that need the database or the receiving bureau (already held, already in an
open batch, 档号 in use, not yet retired, 离休, the bureau's area), all of every row reported at once."""

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from archive_service.auth.models import User
from archive_service.auth.permissions import Action, require
from archive_service.db import bureau_today, one_of
from archive_service.dossiers.models import Dossier, Particulars, Retiree
from archive_service.dossiers.service import check_own_fonds
from archive_service.errors import ArchiveError, Forbidden, NotFound
from archive_service.organisations import jurisdiction
from archive_service.organisations.models import Organisation, OrganisationKind
from archive_service.protection import digest_of, keyed_digest
from archive_service.transfers import register
from archive_service.transfers.models import (
    OPEN,
    ItemResult,
    TransferBatch,
    TransferItem,
    TransferKind,
    TransferStatus,
)
from archive_service.transfers.service import next_batch_number

# A file is handed over once its person has retired (000 四(二): 企业职工办理退休手续后…常态化移交; 001 第七条).
NOT_RETIRED = (
    "依据 重庆市市属国有重点企业退休人员社会化管理试点工作实施方案 四(二)、红政办规〔2020〕6号 第七条，"
    "办理退休手续后方可移交"
)


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
                "particulars": Particulars.of(r),
                "archival_code": r.archival_code,
                "declared_volumes": r.volumes,
                "declared_pages": r.pages,
                "declared_materials": r.materials,
                "missing_materials": r.missing_materials or "",
                "missing_certificate": r.missing_certificate,
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
        digests = [keyed_digest(i) for i in ids[start : start + 5000]]  # as `Retiree.citizen_id.in_` compares
        for cid, code, custodian_id, custodian in session.execute(
            select(Retiree.citizen_id, Dossier.archival_code, Dossier.custodian_id, Organisation.name)
            .outerjoin(Dossier, Dossier.retiree_id == Retiree.id)
            .outerjoin(Organisation, Organisation.id == Dossier.custodian_id)
            .where(one_of(session, digest_of(Retiree.citizen_id), digests))
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
        digests = [keyed_digest(i) for i in ids[start : start + 5000]]
        for cid, number, to_org_id, to_org in session.execute(
            select(TransferItem.citizen_id, TransferBatch.number, TransferBatch.to_org_id, Organisation.name)
            .join(TransferBatch, TransferBatch.id == TransferItem.batch_id)
            .join(Organisation, Organisation.id == TransferBatch.to_org_id)
            .where(
                TransferBatch.status.in_(OPEN),
                TransferItem.result == ItemResult.pending,
                one_of(session, digest_of(TransferItem.citizen_id), digests),
            )
        ):
            found[cid] = f"本馆未办结的移交批次 {number}" if to_org_id == bureau.id else f"{to_org}未办结的移交批次"
    return found


def _existing(session: Session, column: Any, values: list[str]) -> set[str]:
    """Which of the values already exist, asked in chunks (SQLite allows ~32,000 parameters). Not for a
    protected column: its values are compared by their keyed digests (see _held_by)."""
    found: set[str] = set()
    for start in range(0, len(values), 5000):
        found.update(session.scalars(select(column).where(one_of(session, column, values[start : start + 5000]))))
    return found
