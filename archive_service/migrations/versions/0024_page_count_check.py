"""the page-count check of a digitised file against its register (issue 36, item 5)

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-07 06:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "page_count_check",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dossier_id", sa.Integer(), nullable=False),
        sa.Column("use_copy_id", sa.Integer(), nullable=False),
        sa.Column("registered", sa.Integer(), nullable=False),
        sa.Column("scanned", sa.Integer(), nullable=False),
        sa.Column("with_content", sa.Integer(), nullable=False),
        sa.Column("found_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_by_id", sa.Integer(), nullable=True),
        sa.Column("resolution", sa.String(length=20), nullable=True),
        sa.Column("verified_pages", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), server_default="", nullable=False),
        sa.ForeignKeyConstraint(["dossier_id"], ["dossier.id"], name=op.f("fk_page_count_check_dossier_id_dossier")),
        sa.ForeignKeyConstraint(
            ["use_copy_id"], ["digital_object.id"], name=op.f("fk_page_count_check_use_copy_id_digital_object")
        ),
        sa.ForeignKeyConstraint(
            ["resolved_by_id"], ["app_user.id"], name=op.f("fk_page_count_check_resolved_by_id_app_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_page_count_check")),
    )
    op.create_index(op.f("ix_page_count_check_dossier_id"), "page_count_check", ["dossier_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_page_count_check_dossier_id"), table_name="page_count_check")
    op.drop_table("page_count_check")
