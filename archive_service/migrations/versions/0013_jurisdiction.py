"""jurisdiction: a bureau's rule for which files it receives, the register's 参保地, and a batch's managing
unit (enterprise no longer exists) and the human-resources bureau's approval reference

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01 11:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("organisation", schema=None) as batch_op:
        batch_op.add_column(sa.Column("jurisdiction_rule", sa.String(length=30), nullable=True))
    with op.batch_alter_table("retiree", schema=None) as batch_op:
        batch_op.add_column(sa.Column("insured_region_code", sa.String(length=6), nullable=True))
    with op.batch_alter_table("transfer_item", schema=None) as batch_op:
        batch_op.add_column(sa.Column("insured_region_code", sa.String(length=6), nullable=True))
    with op.batch_alter_table("transfer_batch", schema=None) as batch_op:
        batch_op.add_column(sa.Column("managing_unit", sa.String(length=200), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("managing_reason", sa.Text(), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("approval_reference", sa.String(length=100), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("transfer_batch", schema=None) as batch_op:
        batch_op.drop_column("approval_reference")
        batch_op.drop_column("managing_reason")
        batch_op.drop_column("managing_unit")
    with op.batch_alter_table("transfer_item", schema=None) as batch_op:
        batch_op.drop_column("insured_region_code")
    with op.batch_alter_table("retiree", schema=None) as batch_op:
        batch_op.drop_column("insured_region_code")
    with op.batch_alter_table("organisation", schema=None) as batch_op:
        batch_op.drop_column("jurisdiction_rule")
