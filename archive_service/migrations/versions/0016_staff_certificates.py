"""staff certificates (004 第十七条: 持证上岗) and the bureau's setting that archivists must hold one

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-01 12:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "staff_certificate",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=100), nullable=False),
        sa.Column("number", sa.String(length=60), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=True),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"], ["app_user.id"], name=op.f("fk_staff_certificate_recorded_by_id_app_user")
        ),
        sa.ForeignKeyConstraint(["user_id"], ["app_user.id"], name=op.f("fk_staff_certificate_user_id_app_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_certificate")),
    )
    op.create_index(op.f("ix_staff_certificate_user_id"), "staff_certificate", ["user_id"])
    with op.batch_alter_table("organisation", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("requires_certified_staff", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("organisation", schema=None) as batch_op:
        batch_op.drop_column("requires_certified_staff")
    op.drop_index(op.f("ix_staff_certificate_user_id"), "staff_certificate")
    op.drop_table("staff_certificate")
