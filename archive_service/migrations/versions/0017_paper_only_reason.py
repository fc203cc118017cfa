"""why a batch was received with files not yet digitised (000 §三(二)2, 002 第九条(四), 003 二(三))

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-01 13:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("transfer_batch", schema=None) as batch_op:
        batch_op.add_column(sa.Column("paper_reason", sa.Text(), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("transfer_batch", schema=None) as batch_op:
        batch_op.drop_column("paper_reason")
