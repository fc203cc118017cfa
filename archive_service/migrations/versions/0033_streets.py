"""streets, townships, communities and entrusted custodians under a bureau; files kept by them for the bureau;
per-unit service staffing figures (issue 37 items 11 and 3; 003 七(二), 004 第十六条, 002 第十一条)

Revision ID: 0033
Revises: 0032
Create Date: 2026-12-07 13:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0033"
down_revision = "0032"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "bureau_unit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("bureau_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("street", "township", "community", "custodian", name="unitkind", native_enum=False, length=20),
            nullable=False,
        ),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("retirees", sa.Integer(), nullable=False),
        sa.Column("qualification", sa.String(length=200), server_default="", nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=True),
        sa.Column("valid_until", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("retirees >= 0", name=op.f("ck_bureau_unit_retirees_not_negative")),
        sa.ForeignKeyConstraint(["bureau_id"], ["organisation.id"], name=op.f("fk_bureau_unit_bureau_id_organisation")),
        sa.ForeignKeyConstraint(["parent_id"], ["bureau_unit.id"], name=op.f("fk_bureau_unit_parent_id_bureau_unit")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bureau_unit")),
        sa.UniqueConstraint("bureau_id", "name", name=op.f("uq_bureau_unit_bureau_id_name")),
    )
    op.create_index(op.f("ix_bureau_unit_bureau_id"), "bureau_unit", ["bureau_id"])
    with op.batch_alter_table("dossier") as batch:
        batch.add_column(sa.Column("held_by_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(batch.f("fk_dossier_held_by_id_bureau_unit"), "bureau_unit", ["held_by_id"], ["id"])
        batch.create_index(batch.f("ix_dossier_held_by_id"), ["held_by_id"])
    with op.batch_alter_table("space_policy") as batch:
        for name in ("office_staff_minimum", "street_staff_minimum", "part_time_below_retirees"):
            batch.add_column(sa.Column(name, sa.Integer(), server_default="0", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("space_policy") as batch:
        for name in ("office_staff_minimum", "street_staff_minimum", "part_time_below_retirees"):
            batch.drop_column(name)
    with op.batch_alter_table("dossier") as batch:
        batch.drop_index(batch.f("ix_dossier_held_by_id"))
        batch.drop_constraint(batch.f("fk_dossier_held_by_id_bureau_unit"), type_="foreignkey")
        batch.drop_column("held_by_id")
    op.drop_index(op.f("ix_bureau_unit_bureau_id"), "bureau_unit")
    op.drop_table("bureau_unit")
