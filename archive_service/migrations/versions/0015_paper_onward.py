"""转递 on paper: the receiving bureau's signed return slip (signer, date, scan checksum) and the reason an
unsent 转递 was withdrawn

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01 12:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("transfer_batch", schema=None) as batch_op:
        batch_op.add_column(sa.Column("return_slip_signer", sa.String(length=50), nullable=True))
        batch_op.add_column(sa.Column("return_slip_signed_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("return_slip_sha256", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("cancel_reason", sa.Text(), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("transfer_batch", schema=None) as batch_op:
        batch_op.drop_column("cancel_reason")
        batch_op.drop_column("return_slip_sha256")
        batch_op.drop_column("return_slip_signed_on")
        batch_op.drop_column("return_slip_signer")
