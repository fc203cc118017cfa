"""常态化移交: a new retiree's file is due a bureau-set number of months after retirement (issue 37 item 7;
重庆 实施方案 四(二), 红政办规〔2020〕6号 第七条, 西人社发〔2020〕14号 一)

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-07 10:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0031"
down_revision = "0030"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "continuing_handover",
        sa.Column("bureau_id", sa.Integer(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("due_months", sa.Integer(), nullable=False),
        sa.Column("basis", sa.String(length=200), nullable=False),
        sa.Column("set_by_id", sa.Integer(), nullable=False),
        sa.Column("set_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["bureau_id"], ["organisation.id"], name=op.f("fk_continuing_handover_bureau_id_organisation")
        ),
        sa.ForeignKeyConstraint(["set_by_id"], ["app_user.id"], name=op.f("fk_continuing_handover_set_by_id_app_user")),
        sa.PrimaryKeyConstraint("bureau_id", name=op.f("pk_continuing_handover")),
    )


def downgrade() -> None:
    op.drop_table("continuing_handover")
