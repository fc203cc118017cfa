"""Fees of a handover (000 五(一): 移交企业…按 1020 元／人的标准…一次性支付移交费用; 004 第十一条, 第十二条(三)(五):
社会化管理费 测算 and 缴纳): the bureau's amounts and each batch's payments, money kept as integer 分."""

from datetime import date, datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from archive_service.auth.models import User
from archive_service.db import Base, utcnow


class FeePolicy(Base):
    """A bureau's fee amounts: 移交费用 per person handed over, and the yearly 社会化管理费 per retiree it
    manages (None: not charged). No row: the bureau charges no fee."""

    __tablename__ = "fee_policy"

    bureau_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), primary_key=True)
    handover_fee_fen: Mapped[int | None] = mapped_column(BigInteger)  # 移交费用, 分 per person
    management_fee_fen: Mapped[int | None] = mapped_column(BigInteger)  # 社会化管理费, 分 per person and year
    basis: Mapped[str] = mapped_column(String(200))
    set_by_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    set_at: Mapped[datetime] = mapped_column(default=utcnow)


class FeePayment(Base):
    """A payment of a batch's 移交费用 as its voucher shows it. The persons and rate it was reckoned on are kept
    with it: once paid, a later change of the bureau's rate does not change what the batch owed."""

    __tablename__ = "fee_payment"

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("transfer_batch.id"), index=True)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    paid_on: Mapped[date]
    voucher: Mapped[str] = mapped_column(String(60))  # 收据或缴款凭证号
    persons: Mapped[int] = mapped_column(Integer)  # the batch's persons when it was recorded
    rate_fen: Mapped[int] = mapped_column(BigInteger)  # the rate per person then
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)

    recorded_by: Mapped[User] = relationship(lazy="joined")
