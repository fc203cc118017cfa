"""number series: 档号, batch and request numbers issued without races

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 23:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Series start from the numbers already issued the first time they are used (numbering.next_in_series).
    op.create_table(
        "number_series",
        sa.Column("series", sa.String(length=40), nullable=False),
        sa.Column("last", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("series", name=op.f("pk_number_series")),
    )


def downgrade() -> None:
    op.drop_table("number_series")
