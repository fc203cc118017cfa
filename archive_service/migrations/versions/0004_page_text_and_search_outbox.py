"""OCR text per page, and the search outbox (every existing dossier queued for indexing).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 11:28:12.717330
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "search_outbox",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("dossier_id", sa.Integer(), nullable=False),
        sa.Column("queued_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_search_outbox")),
    )
    with op.batch_alter_table("search_outbox", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_search_outbox_dossier_id"), ["dossier_id"], unique=False)

    op.create_table(
        "page_text",
        sa.Column("dossier_id", sa.Integer(), nullable=False),
        sa.Column("page", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["dossier_id"], ["dossier.id"], name=op.f("fk_page_text_dossier_id_dossier")),
        sa.PrimaryKeyConstraint("dossier_id", "page", name=op.f("pk_page_text")),
    )
    # An existing installation's dossiers reach the new index through the same outbox as changes.
    op.execute("INSERT INTO search_outbox (dossier_id, queued_at) SELECT id, CURRENT_TIMESTAMP FROM dossier")


def downgrade() -> None:
    op.drop_table("page_text")
    with op.batch_alter_table("search_outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_search_outbox_dossier_id"))

    op.drop_table("search_outbox")
