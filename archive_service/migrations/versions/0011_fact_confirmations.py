"""fact confirmations: an archivist's accepted value of a file's 出生日期, 参加工作时间 …

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 06:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "fact_confirmation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dossier_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("value", sa.String(length=60), nullable=False),
        sa.Column("page", sa.Integer(), nullable=True),
        sa.Column("actor_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["actor_id"], ["app_user.id"], name=op.f("fk_fact_confirmation_actor_id_app_user")),
        sa.ForeignKeyConstraint(["dossier_id"], ["dossier.id"], name=op.f("fk_fact_confirmation_dossier_id_dossier")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fact_confirmation")),
    )
    with op.batch_alter_table("fact_confirmation", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_fact_confirmation_dossier_id"), ["dossier_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("fact_confirmation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_fact_confirmation_dossier_id"))
    op.drop_table("fact_confirmation")
