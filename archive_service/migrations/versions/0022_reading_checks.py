"""the corrections layer of 校对与复核 (issue 39, item 5): every acceptance, correction and review of a reading

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07 06:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reading_check",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dossier_id", sa.Integer(), nullable=False),
        sa.Column("reading", sa.String(length=120), nullable=False),
        sa.Column("source_sha256", sa.String(length=64), nullable=False),
        sa.Column("source_frame", sa.Integer(), nullable=False),
        sa.Column("target", sa.String(length=20), nullable=False),
        sa.Column("x0", sa.Integer(), nullable=False),
        sa.Column("y0", sa.Integer(), nullable=False),
        sa.Column("x1", sa.Integer(), nullable=False),
        sa.Column("y1", sa.Integer(), nullable=False),
        sa.Column("page", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("step", sa.String(length=10), nullable=False),
        sa.Column("before", sa.Text(), nullable=False),
        sa.Column("after", sa.Text(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["actor_id"], ["app_user.id"], name=op.f("fk_reading_check_actor_id_app_user")),
        sa.ForeignKeyConstraint(["dossier_id"], ["dossier.id"], name=op.f("fk_reading_check_dossier_id_dossier")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reading_check")),
        sa.UniqueConstraint(
            "dossier_id", "reading", "version", name=op.f("uq_reading_check_dossier_id_reading_version")
        ),
    )
    op.create_index(op.f("ix_reading_check_dossier_id"), "reading_check", ["dossier_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_reading_check_dossier_id"), table_name="reading_check")
    op.drop_table("reading_check")
