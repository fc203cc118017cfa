"""A register row's particulars (sex, dates, hukou and residence) and the counts found on receipt.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 13:15:48.006060
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("transfer_item", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sex", sa.String(length=1), nullable=False, server_default="M"))
        batch_op.add_column(sa.Column("birth_date", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("retirement_date", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("hukou_region_code", sa.String(length=6), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("residence_region_code", sa.String(length=6), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("received_volumes", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("received_pages", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("received_materials", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("transfer_item", schema=None) as batch_op:
        batch_op.drop_column("received_materials")
        batch_op.drop_column("received_pages")
        batch_op.drop_column("received_volumes")
        batch_op.drop_column("residence_region_code")
        batch_op.drop_column("hukou_region_code")
        batch_op.drop_column("retirement_date")
        batch_op.drop_column("birth_date")
        batch_op.drop_column("sex")
