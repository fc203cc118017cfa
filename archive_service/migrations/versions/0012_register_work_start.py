"""register: 参加工作时间 of each retiree, carried into the retiree when the file is received

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 07:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("transfer_item", schema=None) as batch_op:
        batch_op.add_column(sa.Column("work_start_date", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("transfer_item", schema=None) as batch_op:
        batch_op.drop_column("work_start_date")
