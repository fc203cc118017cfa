"""the bureau's handover campaign window and each enterprise's 核准移交人数 (000 §四, 001 第五–七条, 003 一)

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-01 15:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "handover_campaign",
        sa.Column("bureau_id", sa.Integer(), nullable=False),
        sa.Column("opens_on", sa.Date(), nullable=False),
        sa.Column("closes_on", sa.Date(), nullable=False),
        sa.Column("final_on", sa.Date(), nullable=True),
        sa.Column("basis", sa.String(length=200), nullable=False),
        sa.Column("set_by_id", sa.Integer(), nullable=False),
        sa.Column("set_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["bureau_id"], ["organisation.id"], name=op.f("fk_handover_campaign_bureau_id_organisation")
        ),
        sa.ForeignKeyConstraint(["set_by_id"], ["app_user.id"], name=op.f("fk_handover_campaign_set_by_id_app_user")),
        sa.PrimaryKeyConstraint("bureau_id", name=op.f("pk_handover_campaign")),
    )
    op.create_table(
        "handover_quota",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("bureau_id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("expected", sa.Integer(), nullable=False),
        sa.Column("basis", sa.String(length=200), nullable=False),
        sa.Column("set_by_id", sa.Integer(), nullable=False),
        sa.Column("set_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["bureau_id"], ["organisation.id"], name=op.f("fk_handover_quota_bureau_id_organisation")
        ),
        sa.ForeignKeyConstraint(
            ["enterprise_id"], ["organisation.id"], name=op.f("fk_handover_quota_enterprise_id_organisation")
        ),
        sa.ForeignKeyConstraint(["set_by_id"], ["app_user.id"], name=op.f("fk_handover_quota_set_by_id_app_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_handover_quota")),
        sa.UniqueConstraint("bureau_id", "enterprise_id", name=op.f("uq_handover_quota_bureau_id_enterprise_id")),
    )
    op.create_index(op.f("ix_handover_quota_bureau_id"), "handover_quota", ["bureau_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_handover_quota_bureau_id"), "handover_quota")
    op.drop_table("handover_quota")
    op.drop_table("handover_campaign")
