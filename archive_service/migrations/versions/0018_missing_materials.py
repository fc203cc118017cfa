"""missing materials and their certificates (证明材料, 001 第九条(一)), stored with the file

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-01 14:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "missing_material",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dossier_id", sa.Integer(), nullable=False),
        sa.Column("material_class_id", sa.Integer(), nullable=False),
        sa.Column("description", sa.String(length=200), nullable=False),
        sa.Column("issued_by", sa.String(length=200), nullable=False),
        sa.Column("certificate_id", sa.Integer(), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["certificate_id"], ["digital_object.id"], name=op.f("fk_missing_material_certificate_id_digital_object")
        ),
        sa.ForeignKeyConstraint(["dossier_id"], ["dossier.id"], name=op.f("fk_missing_material_dossier_id_dossier")),
        sa.ForeignKeyConstraint(
            ["material_class_id"],
            ["material_class.id"],
            name=op.f("fk_missing_material_material_class_id_material_class"),
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"], ["app_user.id"], name=op.f("fk_missing_material_recorded_by_id_app_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_missing_material")),
    )
    op.create_index(op.f("ix_missing_material_dossier_id"), "missing_material", ["dossier_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_missing_material_dossier_id"), "missing_material")
    op.drop_table("missing_material")
