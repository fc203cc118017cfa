"""Fees (重庆 实施方案 五(一): 由移交企业暂按 1020 元／人的标准…一次性支付移交费用; 大政办发〔2017〕49号 第十一条
需要缴纳一定费用, 第十二条(三) 对退休人员社会化管理费进行测算, (五) 缴纳企业退休人员社会化管理费).

The amounts are the bureau's policy (fee_models.FeePolicy; 重庆's 1,020 元 per person is the preset a bureau can
take). A batch's 移交费用 is its persons (register rows not returned) × the rate, recorded as paid by its
vouchers, or outstanding. The 社会化管理费 estimate for a year is the yearly rate × the living retirees whose
files the bureau holds, by enterprise. Money is checked by values.check_yuan and kept as integer 分.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from archive_service.access.log import AccessAction, record_access, record_change
from archive_service.auth.models import User
from archive_service.auth.permissions import Action, require
from archive_service.db import bureau_today, bureau_zone
from archive_service.dossiers.models import Dossier, DossierStatus, Retiree
from archive_service.errors import ArchiveError
from archive_service.organisations.models import Organisation
from archive_service.transfers.fee_models import FeePayment, FeePolicy
from archive_service.transfers.models import ItemResult, TransferBatch, TransferItem, TransferKind, TransferStatus
from archive_service.transfers.service import get_batch
from archive_service.values import ValueRuleError, check_yuan, policy_basis, to_fen, yuan_of, yuan_text

HANDOVER_BASIS = "重庆市市属国有重点企业退休人员社会化管理试点工作实施方案 五(一)；大政办发〔2017〕49号 第十一条"
MANAGEMENT_BASIS = "大政办发〔2017〕49号 第十二条(三)(五)"
# The seeds' amounts a bureau may take with one click: 重庆 names 1,020 元 per person; no seed names a yearly
# 社会化管理费 (Dalian's is 测算 case by case), so that stays for the bureau to fill in.
PRESETS = {
    "chongqing": (
        "重庆：移交费用 1,020.00 元／人",
        "1020.00",
        "重庆市市属国有重点企业退休人员社会化管理试点工作实施方案 五(一)",
    )
}


def policy(session: Session, bureau_id: int) -> FeePolicy | None:
    return session.get(FeePolicy, bureau_id)


def money(value: object, field: str, label: str, clause: str) -> int:
    """An amount typed or sent, in 分; refused naming the field, what it is and the clause it is charged under."""
    try:
        return to_fen(check_yuan(value))
    except ValueRuleError as e:
        raise ArchiveError(f"{field}.{e.code.split('.')[1]}", f"{label}：{e.message}（{clause}）", field, 422) from None


def _given(value: object) -> bool:
    return value is not None and str(value).strip() != ""


def set_policy(
    session: Session, admin: User, handover_fee: object, management_fee: object, basis: str, client: str
) -> FeePolicy:
    """The administrator sets the 移交费用 per person and the yearly 社会化管理费 per retiree (either may be empty:
    not charged); before and after on the access log."""
    require(admin, Action.set_jurisdiction)  # the bureau's policy settings are the administrator's
    handover = (
        money(handover_fee, "handover_fee", "移交费用标准（元／人）", HANDOVER_BASIS) if _given(handover_fee) else None
    )
    management = (
        money(management_fee, "management_fee", "社会化管理费标准（元／人·年）", MANAGEMENT_BASIS)
        if _given(management_fee)
        else None
    )
    why = policy_basis(basis)
    row = session.get(FeePolicy, admin.organisation_id, with_for_update=True)
    before = _text(row) if row else "未设定"
    if row is None:
        row = FeePolicy(bureau_id=admin.organisation_id)
        session.add(row)
    row.handover_fee_fen, row.management_fee_fen, row.basis = handover, management, why
    row.set_by_id, row.set_at = admin.id, datetime.now(UTC)
    record_change(session, admin, AccessAction.policy_changed, client, "费用标准：", before, f"{_text(row)}（{why}）")
    session.flush()
    return row


def set_preset(session: Session, admin: User, key: str, client: str) -> FeePolicy:
    if key not in PRESETS:
        raise ArchiveError("preset.unknown", "没有这个费用标准预设", "preset", 422)
    _, amount, basis = PRESETS[key]
    kept = policy(session, admin.organisation_id)
    management = yuan_of(kept.management_fee_fen) if kept and kept.management_fee_fen is not None else None
    return set_policy(session, admin, amount, management, basis, client)


def _text(p: FeePolicy) -> str:
    handover = f"{yuan_text(p.handover_fee_fen)} 元／人" if p.handover_fee_fen is not None else "不收"
    management = f"{yuan_text(p.management_fee_fen)} 元／人·年" if p.management_fee_fen is not None else "不收"
    return f"移交费用 {handover}，社会化管理费 {management}"


@dataclass(frozen=True)
class BatchFee:
    """A batch's 移交费用: persons × rate, what its vouchers paid, what is outstanding."""

    batch: TransferBatch
    persons: int
    rate_fen: int | None  # None: the bureau charges no 移交费用
    paid_fen: int
    payments: Sequence[FeePayment]

    @property
    def due_fen(self) -> int | None:
        return None if self.rate_fen is None else self.persons * self.rate_fen

    @property
    def outstanding_fen(self) -> int | None:
        due = self.due_fen
        return None if due is None else max(due - self.paid_fen, 0)

    @property
    def status_label(self) -> str:
        if self.due_fen is None:
            return "未设定收费标准"
        if self.outstanding_fen == 0:
            return "已缴清"
        return "部分缴纳" if self.paid_fen else "未缴"


def _persons(session: Session, batch_ids: Sequence[int]) -> dict[int, int]:
    """Persons handed over per batch: the register's rows, less those returned (退回)."""
    return dict(
        session.execute(
            select(TransferItem.batch_id, func.count())
            .where(TransferItem.batch_id.in_(batch_ids), TransferItem.result != ItemResult.rejected)
            .group_by(TransferItem.batch_id)
        ).all()
    )


def _fees(session: Session, bureau_id: int, batches: Sequence[TransferBatch]) -> list[BatchFee]:
    kept = policy(session, bureau_id)
    rate = kept.handover_fee_fen if kept else None
    ids = [b.id for b in batches]
    persons = _persons(session, ids)
    payments: dict[int, list[FeePayment]] = {}
    for p in session.scalars(select(FeePayment).where(FeePayment.batch_id.in_(ids)).order_by(FeePayment.id)):
        payments.setdefault(p.batch_id, []).append(p)
    out = []
    for b in batches:
        paid = payments.get(b.id, [])
        # Once paid, the batch owes at the rate it was paid at, whatever the bureau sets later.
        out.append(BatchFee(b, persons.get(b.id, 0), paid[0].rate_fen if paid else rate,
                            sum(p.amount_fen for p in paid), paid))  # fmt: skip
    return out


def batch_fee(session: Session, user: User, batch: TransferBatch) -> BatchFee | None:
    """The 移交费用 of an enterprise's batch to this bureau; None for a 转递 (no fee between bureaus)."""
    if batch.kind is not TransferKind.intake or batch.to_org_id != user.organisation_id:
        return None
    return _fees(session, user.organisation_id, [batch])[0]


def batch_fees(session: Session, user: User) -> list[BatchFee]:
    """Every enterprise batch to the bureau (not withdrawn), newest first: the fee list."""
    require(user, Action.view_holdings)
    batches = session.scalars(
        select(TransferBatch)
        .where(
            TransferBatch.to_org_id == user.organisation_id,
            TransferBatch.kind == TransferKind.intake,
            TransferBatch.status != TransferStatus.cancelled,
        )
        .order_by(TransferBatch.id.desc())
    ).all()
    return _fees(session, user.organisation_id, batches)


def record_payment(
    session: Session, user: User, batch_id: int, amount: object, paid_on: date | None, voucher: str, client: str
) -> FeePayment:
    """A payment of a batch's 移交费用 by the enterprise, as its voucher shows it; never more than outstanding."""
    require(user, Action.receive_transfers)
    batch = get_batch(session, user, batch_id, lock=True)
    fee = batch_fee(session, user, batch)
    if fee is None:
        raise ArchiveError("batch.no_fee", "转递批次不收取移交费用（移交费用由移交企业支付）", "batch_id", 409)
    if fee.rate_fen is None or fee.outstanding_fen is None:
        raise ArchiveError(
            "handover_fee.unset", f"本馆尚未设定移交费用标准，请系统管理员先设定（{HANDOVER_BASIS}）", "amount", 409
        )
    fen = money(amount, "amount", "缴纳金额（元）", HANDOVER_BASIS)
    if fen == 0:
        raise ArchiveError("amount.zero", f"缴纳金额（元）应大于 0（{HANDOVER_BASIS}）", "amount", 422)
    if fen > fee.outstanding_fen:
        raise ArchiveError(
            "amount.over",
            f"缴纳金额 {yuan_text(fen)} 元超过本批次未缴的移交费用 {yuan_text(fee.outstanding_fen)} 元"
            f"（{fee.persons} 人 × {yuan_text(fee.rate_fen)} 元，{HANDOVER_BASIS}）",
            "amount", 422,
        )  # fmt: skip
    if paid_on is None:
        raise ArchiveError("paid_on.required", "请填写缴纳日期", "paid_on", 422)
    if paid_on > bureau_today():
        raise ArchiveError("paid_on.future", f"缴纳日期 {paid_on} 晚于今天", "paid_on", 422)
    ref = voucher.strip()
    if not 2 <= len(ref) <= 60:
        raise ArchiveError("voucher.required", "请填写收据或缴款凭证号（2–60 字）", "voucher", 422)
    payment = FeePayment(
        batch_id=batch.id, amount_fen=fen, paid_on=paid_on, voucher=ref, persons=fee.persons, rate_fen=fee.rate_fen,
        recorded_by_id=user.id,
    )  # fmt: skip
    session.add(payment)
    record_access(
        session, user, AccessAction.fee_paid, client,
        detail=f"移交批次 {batch.number} 缴纳移交费用 {yuan_text(fen)} 元（{paid_on}，凭证 {ref}；应缴 "
        f"{yuan_text(fee.due_fen or 0)} 元，此前已缴 {yuan_text(fee.paid_fen)} 元）", with_change=True,
    )  # fmt: skip
    session.flush()
    return payment


@dataclass(frozen=True)
class EstimateRow:
    enterprise: str
    persons: int
    amount_fen: int


@dataclass(frozen=True)
class Estimate:
    """社会化管理费 测算 for a year (004 第十二条(三)): per enterprise, the living retirees whose files the bureau
    holds (received before the year ends, not dead before it began) × the yearly rate."""

    year: int
    rate_fen: int | None
    rows: list[EstimateRow]

    @property
    def persons(self) -> int:
        return sum(r.persons for r in self.rows)

    @property
    def total_fen(self) -> int:
        return sum(r.amount_fen for r in self.rows)


def estimate(session: Session, user: User, year: int | None = None) -> Estimate:
    require(user, Action.view_holdings)
    year = year or bureau_today().year
    if not 2000 <= year <= 2100:
        raise ArchiveError("year.range", "年份应在 2000–2100 之间", "year", 422)
    kept = policy(session, user.organisation_id)
    rate = kept.management_fee_fen if kept else None
    if rate is None:
        return Estimate(year, None, [])
    ends = datetime.combine(date(year + 1, 1, 1), time(), bureau_zone()).astimezone(UTC)
    rows = session.execute(
        select(Organisation.name, func.count())
        .select_from(Dossier)
        .join(Retiree, Retiree.id == Dossier.retiree_id)
        .join(Organisation, Organisation.id == Retiree.enterprise_id)
        .where(
            Dossier.custodian_id == user.organisation_id,
            Dossier.status.in_([DossierStatus.in_custody, DossierStatus.on_loan]),
            Dossier.created_at < ends,
            or_(Retiree.deceased_date.is_(None), Retiree.deceased_date >= date(year, 1, 1)),
        )
        .group_by(Organisation.name)
        .order_by(Organisation.name)
    ).all()
    return Estimate(year, rate, [EstimateRow(name, n, n * rate) for name, n in rows])
