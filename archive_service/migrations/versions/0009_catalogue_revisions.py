"""catalogue revisions; a 卷内目录 imported ahead of a transfer item's arrival

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 20:30:00
"""

from importlib import import_module

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "catalogue_revision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dossier_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("before", sa.JSON(), nullable=False),
        sa.Column("after", sa.JSON(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["actor_id"], ["app_user.id"]),
        sa.ForeignKeyConstraint(["dossier_id"], ["dossier.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_catalogue_revision_dossier_id", "catalogue_revision", ["dossier_id"])
    # Evidence like the custody chain: the same append-only triggers.
    import_module("archive_service.migrations.versions.0001_initial_schema")._append_only("catalogue_revision")
    with op.batch_alter_table("transfer_item") as batch:
        batch.add_column(sa.Column("catalogue", sa.JSON(), nullable=True))


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS catalogue_revision_append_only ON catalogue_revision")
    else:
        op.execute("DROP TRIGGER IF EXISTS catalogue_revision_no_update")
        op.execute("DROP TRIGGER IF EXISTS catalogue_revision_no_delete")
    with op.batch_alter_table("transfer_item") as batch:
        batch.drop_column("catalogue")
    op.drop_index("ix_catalogue_revision_dossier_id", "catalogue_revision")
    op.drop_table("catalogue_revision")
