"""life events: a retiree's death, conviction, disappearance, emigration or move after handover

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01 11:30:00
"""

from importlib import import_module

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "life_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("retiree_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("occurred_on", sa.Date(), nullable=False),
        sa.Column("source_document", sa.String(length=200), nullable=False),
        sa.Column("region_code", sa.String(length=6), nullable=True),
        sa.Column("entered_by_id", sa.Integer(), nullable=False),
        sa.Column("entered_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["entered_by_id"], ["app_user.id"], name=op.f("fk_life_event_entered_by_id_app_user")),
        sa.ForeignKeyConstraint(["retiree_id"], ["retiree.id"], name=op.f("fk_life_event_retiree_id_retiree")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_life_event")),
    )
    op.create_index(op.f("ix_life_event_retiree_id"), "life_event", ["retiree_id"])
    # Evidence like the custody chain: the same append-only triggers.
    import_module("archive_service.migrations.versions.0001_initial_schema")._append_only("life_event")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS life_event_append_only ON life_event")
    else:
        op.execute("DROP TRIGGER IF EXISTS life_event_no_update")
        op.execute("DROP TRIGGER IF EXISTS life_event_no_delete")
    op.drop_index(op.f("ix_life_event_retiree_id"), "life_event")
    op.drop_table("life_event")
