"""the retiree's 转入申请 that starts a 转递 after a move (issue 37 item 4; 002 第二十二条, 001 第三条)

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-07 09:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "transfer_application",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("life_event_id", sa.Integer(), nullable=False),
        sa.Column("dossier_id", sa.Integer(), nullable=False),
        sa.Column("applied_on", sa.Date(), nullable=False),
        sa.Column("to_org_id", sa.Integer(), nullable=False),
        sa.Column("document", sa.String(length=200), nullable=False),
        sa.Column("scan_id", sa.Integer(), nullable=True),
        sa.Column("onward_batch_id", sa.Integer(), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["life_event_id"], ["life_event.id"], name=op.f("fk_transfer_application_life_event_id_life_event")
        ),
        sa.ForeignKeyConstraint(
            ["dossier_id"], ["dossier.id"], name=op.f("fk_transfer_application_dossier_id_dossier")
        ),
        sa.ForeignKeyConstraint(
            ["to_org_id"], ["organisation.id"], name=op.f("fk_transfer_application_to_org_id_organisation")
        ),
        sa.ForeignKeyConstraint(
            ["scan_id"], ["digital_object.id"], name=op.f("fk_transfer_application_scan_id_digital_object")
        ),
        sa.ForeignKeyConstraint(
            ["onward_batch_id"],
            ["transfer_batch.id"],
            name=op.f("fk_transfer_application_onward_batch_id_transfer_batch"),
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"], ["app_user.id"], name=op.f("fk_transfer_application_recorded_by_id_app_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transfer_application")),
        sa.UniqueConstraint("life_event_id", name=op.f("uq_transfer_application_life_event_id")),
    )
    op.create_index(op.f("ix_transfer_application_dossier_id"), "transfer_application", ["dossier_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_transfer_application_dossier_id"), "transfer_application")
    op.drop_table("transfer_application")
