"""the archivist's decision on each page flagged 疑似他人材料: checked (belongs here) or removed (taken out of the
file), anchored to the page's scan (issue 36)

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-07 06:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "page_check",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dossier_id", sa.Integer(), nullable=False),
        sa.Column("source_sha256", sa.String(length=64), nullable=False),
        sa.Column("source_frame", sa.Integer(), nullable=False),
        sa.Column(
            "outcome", sa.Enum("checked", "removed", name="pageoutcome", native_enum=False, length=20), nullable=False
        ),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("page", sa.Integer(), nullable=False),
        sa.Column("copy_version", sa.Integer(), nullable=False),
        sa.Column("flags", sa.Text(), nullable=False),
        sa.Column("material", sa.String(length=250), nullable=False),
        sa.Column("catalogue_change", sa.Text(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["actor_id"], ["app_user.id"], name=op.f("fk_page_check_actor_id_app_user")),
        sa.ForeignKeyConstraint(["dossier_id"], ["dossier.id"], name=op.f("fk_page_check_dossier_id_dossier")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_page_check")),
        sa.UniqueConstraint(
            "dossier_id",
            "source_sha256",
            "source_frame",
            name=op.f("uq_page_check_dossier_id_source_sha256_source_frame"),
        ),
    )
    op.create_index(op.f("ix_page_check_dossier_id"), "page_check", ["dossier_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_page_check_dossier_id"), "page_check")
    op.drop_table("page_check")
