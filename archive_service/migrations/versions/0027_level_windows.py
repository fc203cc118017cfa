"""a closing date of the handover window per enterprise level (issue 37 item 2; 003 一、四; 000 四(一))

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-07 09:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None

LEVELS = ("central", "provincial", "city", "district", "other")


def upgrade() -> None:
    op.create_table(
        "handover_level_window",
        sa.Column("bureau_id", sa.Integer(), nullable=False),
        sa.Column("level", sa.Enum(*LEVELS, name="organisationlevel", native_enum=False, length=20), nullable=False),
        sa.Column("closes_on", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["bureau_id"],
            ["handover_campaign.bureau_id"],
            name=op.f("fk_handover_level_window_bureau_id_handover_campaign"),
        ),
        sa.PrimaryKeyConstraint("bureau_id", "level", name=op.f("pk_handover_level_window")),
    )


def downgrade() -> None:
    op.drop_table("handover_level_window")
