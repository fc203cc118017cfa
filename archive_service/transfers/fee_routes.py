"""The API of fees (transfers/fees.py): the bureau's amounts, each batch's 移交费用 and payments, the yearly
社会化管理费 estimate. Amounts go out as text with two decimals (元), never as binary floats."""

from datetime import date

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from archive_service.deps import CurrentUser, DbSession, client_address
from archive_service.transfers import fees
from archive_service.transfers.fee_models import FeePolicy
from archive_service.transfers.service import get_batch
from archive_service.values import yuan_of

router = APIRouter(prefix="/api/fees", tags=["fees"])


def _yuan(fen: int | None) -> str | None:
    return None if fen is None else f"{yuan_of(fen)}"


class PolicyIn(BaseModel):
    """元 as text or number: 1020, "1020.00"; null or "" for a fee the bureau does not charge."""

    handover_fee: str | int | float | None = None
    management_fee: str | int | float | None = None
    basis: str = Field(default="", max_length=200)


class PolicyOut(BaseModel):
    handover_fee: str | None  # 元 per person handed over
    management_fee: str | None  # 元 per retiree and year
    basis: str


class PaymentIn(BaseModel):
    amount: str | int | float | None = None
    paid_on: date | None = None
    voucher: str = Field(default="", max_length=60)


class PaymentOut(BaseModel):
    amount: str
    paid_on: date
    voucher: str
    recorded_by: str


class BatchFeeOut(BaseModel):
    batch_id: int
    number: str
    enterprise: str
    persons: int
    rate: str | None
    due: str | None
    paid: str
    outstanding: str | None
    status: str  # 未缴 | 部分缴纳 | 已缴清 | 未设定收费标准
    payments: list[PaymentOut]


class EstimateRowOut(BaseModel):
    enterprise: str
    persons: int
    amount: str


class EstimateOut(BaseModel):
    year: int
    rate: str | None
    persons: int
    total: str
    rows: list[EstimateRowOut]


def _policy_out(p: FeePolicy | None) -> PolicyOut:
    if p is None:
        return PolicyOut(handover_fee=None, management_fee=None, basis="")
    return PolicyOut(handover_fee=_yuan(p.handover_fee_fen), management_fee=_yuan(p.management_fee_fen), basis=p.basis)


def fee_out(f: fees.BatchFee) -> BatchFeeOut:
    return BatchFeeOut(
        batch_id=f.batch.id, number=f.batch.number, enterprise=f.batch.from_org.name, persons=f.persons,
        rate=_yuan(f.rate_fen), due=_yuan(f.due_fen), paid=f"{yuan_of(f.paid_fen)}",
        outstanding=_yuan(f.outstanding_fen), status=f.status_label,
        payments=[PaymentOut(amount=f"{yuan_of(p.amount_fen)}", paid_on=p.paid_on, voucher=p.voucher,
                             recorded_by=p.recorded_by.display_name) for p in f.payments],
    )  # fmt: skip


@router.get("/policy", response_model=PolicyOut)
def get_policy(session: DbSession, user: CurrentUser) -> PolicyOut:
    return _policy_out(fees.policy(session, user.organisation_id))


@router.put("/policy", response_model=PolicyOut)
def set_policy(data: PolicyIn, request: Request, session: DbSession, user: CurrentUser) -> PolicyOut:
    """移交费用 per person (重庆: 1,020 元) and 社会化管理费 per retiree and year: the administrator's setting."""
    done = fees.set_policy(session, user, data.handover_fee, data.management_fee, data.basis, client_address(request))
    return _policy_out(done)


@router.get("/batches", response_model=list[BatchFeeOut])
def batch_fees(session: DbSession, user: CurrentUser) -> list[BatchFeeOut]:
    """Every enterprise batch's 移交费用: persons, due, paid, outstanding."""
    return [fee_out(f) for f in fees.batch_fees(session, user)]


@router.get("/batches/{batch_id}", response_model=BatchFeeOut | None)
def batch_fee(batch_id: int, session: DbSession, user: CurrentUser) -> BatchFeeOut | None:
    found = fees.batch_fee(session, user, get_batch(session, user, batch_id))
    return fee_out(found) if found else None


@router.post("/batches/{batch_id}/payments", response_model=BatchFeeOut, status_code=201)
def record_payment(
    batch_id: int, data: PaymentIn, request: Request, session: DbSession, user: CurrentUser
) -> BatchFeeOut:
    """A payment of the batch's 移交费用 as its voucher shows it; never more than is outstanding."""
    fees.record_payment(session, user, batch_id, data.amount, data.paid_on, data.voucher, client_address(request))
    found = fees.batch_fee(session, user, get_batch(session, user, batch_id))
    assert found is not None
    return fee_out(found)


@router.get("/estimate", response_model=EstimateOut)
def estimate(
    session: DbSession,
    user: CurrentUser,
    year: int | None = None,
) -> EstimateOut:
    """社会化管理费 测算 for a year (004 第十二条(三)): the yearly rate × living retirees held, by enterprise."""
    e = fees.estimate(session, user, year)
    return EstimateOut(
        year=e.year, rate=_yuan(e.rate_fen), persons=e.persons, total=f"{yuan_of(e.total_fen)}",
        rows=[EstimateRowOut(enterprise=r.enterprise, persons=r.persons, amount=f"{yuan_of(r.amount_fen)}")
              for r in e.rows],
    )  # fmt: skip
