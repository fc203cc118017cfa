"""the approver's reason for accepting a file marked 缺失 without its certificate (issue 37 item 9; 001 第九条(一))

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-07 10:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0032"
down_revision = "0031"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "certificate_waiver",
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("approved_by_id", sa.Integer(), nullable=False),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"], ["transfer_item.id"], name=op.f("fk_certificate_waiver_item_id_transfer_item")
        ),
        sa.ForeignKeyConstraint(
            ["approved_by_id"], ["app_user.id"], name=op.f("fk_certificate_waiver_approved_by_id_app_user")
        ),
        sa.PrimaryKeyConstraint("item_id", name=op.f("pk_certificate_waiver")),
    )


def downgrade() -> None:
    op.drop_table("certificate_waiver")
