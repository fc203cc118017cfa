"""fees: a bureau's 移交费用 per person and 社会化管理费 per retiree and year, and each batch's payments (issue 37
item 10; 重庆 实施方案 五(一), 大政办发〔2017〕49号 第十一条, 第十二条(三)(五)); money as integer 分

Revision ID: 0038
Revises: 0037
Create Date: 2026-12-07 13:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0038"
down_revision = "0037"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "fee_policy",
        sa.Column("bureau_id", sa.Integer(), nullable=False),
        sa.Column("handover_fee_fen", sa.BigInteger(), nullable=True),
        sa.Column("management_fee_fen", sa.BigInteger(), nullable=True),
        sa.Column("basis", sa.String(length=200), nullable=False),
        sa.Column("set_by_id", sa.Integer(), nullable=False),
        sa.Column("set_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["bureau_id"], ["organisation.id"], name=op.f("fk_fee_policy_bureau_id_organisation")),
        sa.ForeignKeyConstraint(["set_by_id"], ["app_user.id"], name=op.f("fk_fee_policy_set_by_id_app_user")),
        sa.PrimaryKeyConstraint("bureau_id", name=op.f("pk_fee_policy")),
    )
    op.create_table(
        "fee_payment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("paid_on", sa.Date(), nullable=False),
        sa.Column("voucher", sa.String(length=60), nullable=False),
        sa.Column("persons", sa.Integer(), nullable=False),
        sa.Column("rate_fen", sa.BigInteger(), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["transfer_batch.id"], name=op.f("fk_fee_payment_batch_id_transfer_batch")
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"], ["app_user.id"], name=op.f("fk_fee_payment_recorded_by_id_app_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fee_payment")),
    )
    with op.batch_alter_table("fee_payment") as batch:
        batch.create_index(batch.f("ix_fee_payment_batch_id"), ["batch_id"], unique=False)


def downgrade() -> None:
    op.drop_table("fee_payment")
    op.drop_table("fee_policy")
