"""an enterprise may be marked 金融企业 (issue 37 item 14; 001 第四条, 002 第三十六条: 另有规定的依其规定执行)

Revision ID: 0035
Revises: 0034
Create Date: 2026-12-07 13:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0035"
down_revision = "0034"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("organisation") as batch:
        batch.add_column(sa.Column("financial", sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("organisation") as batch:
        batch.drop_column("financial")
