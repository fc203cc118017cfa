"""fixity and deletions

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 07:27:09.260977
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "fixity_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("store", sa.String(length=200), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sample_size", sa.Integer(), nullable=True),
        sa.Column("last_key", sa.String(length=200), nullable=False),
        sa.Column("checked", sa.Integer(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fixity_run")),
    )
    op.create_table(
        "fixity_check",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("storage_key", sa.String(length=200), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(length=10), nullable=False),
        sa.Column("expected_sha256", sa.String(length=64), nullable=False),
        sa.Column("actual_sha256", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["run_id"], ["fixity_run.id"], name=op.f("fk_fixity_check_run_id_fixity_run")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fixity_check")),
    )
    with op.batch_alter_table("fixity_check", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_fixity_check_run_id"), ["run_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_fixity_check_storage_key"), ["storage_key"], unique=False)

    op.create_table(
        "object_deletion",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("storage_key", sa.String(length=200), nullable=False),
        sa.Column("store", sa.String(length=200), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["actor_id"], ["app_user.id"], name=op.f("fk_object_deletion_actor_id_app_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_object_deletion")),
    )
    with op.batch_alter_table("object_deletion", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_object_deletion_storage_key"), ["storage_key"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("object_deletion", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_object_deletion_storage_key"))

    op.drop_table("object_deletion")
    with op.batch_alter_table("fixity_check", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_fixity_check_storage_key"))
        batch_op.drop_index(batch_op.f("ix_fixity_check_run_id"))

    op.drop_table("fixity_check")
    op.drop_table("fixity_run")
