"""retained copies, onward notes, material supplements

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 14:18:18.907637
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "material_supplement",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dossier_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("class_code", sa.String(length=8), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("date_formed", sa.String(length=8), nullable=True),
        sa.Column("copies", sa.Integer(), nullable=False),
        sa.Column("pages", sa.Integer(), nullable=False),
        sa.Column("remarks", sa.Text(), nullable=False),
        sa.Column("scan_names", sa.JSON(), nullable=False),
        sa.Column(
            "status",
            sa.Enum("submitted", "approved", "rejected", name="supplementstatus", native_enum=False, length=20),
            nullable=False,
        ),
        sa.Column("submitted_by_id", sa.Integer(), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reviewed_by_id", sa.Integer(), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("review_note", sa.Text(), nullable=False),
        sa.Column("material_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["dossier_id"], ["dossier.id"], name=op.f("fk_material_supplement_dossier_id_dossier")),
        sa.ForeignKeyConstraint(
            ["material_id"], ["material.id"], name=op.f("fk_material_supplement_material_id_material")
        ),
        sa.ForeignKeyConstraint(
            ["reviewed_by_id"], ["app_user.id"], name=op.f("fk_material_supplement_reviewed_by_id_app_user")
        ),
        sa.ForeignKeyConstraint(
            ["submitted_by_id"], ["app_user.id"], name=op.f("fk_material_supplement_submitted_by_id_app_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_material_supplement")),
    )
    with op.batch_alter_table("material_supplement", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_material_supplement_dossier_id"), ["dossier_id"], unique=False)

    op.create_table(
        "retained_copy",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("dossier_id", sa.Integer(), nullable=False),
        sa.Column("digital_object_id", sa.Integer(), nullable=False),
        sa.Column("transfer_batch_id", sa.Integer(), nullable=False),
        sa.Column("retained_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["digital_object_id"], ["digital_object.id"], name=op.f("fk_retained_copy_digital_object_id_digital_object")
        ),
        sa.ForeignKeyConstraint(["dossier_id"], ["dossier.id"], name=op.f("fk_retained_copy_dossier_id_dossier")),
        sa.ForeignKeyConstraint(
            ["organisation_id"], ["organisation.id"], name=op.f("fk_retained_copy_organisation_id_organisation")
        ),
        sa.ForeignKeyConstraint(
            ["transfer_batch_id"], ["transfer_batch.id"], name=op.f("fk_retained_copy_transfer_batch_id_transfer_batch")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_retained_copy")),
        sa.UniqueConstraint(
            "organisation_id", "digital_object_id", name=op.f("uq_retained_copy_organisation_id_digital_object_id")
        ),
    )
    with op.batch_alter_table("retained_copy", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_retained_copy_organisation_id"), ["organisation_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_retained_copy_transfer_batch_id"), ["transfer_batch_id"], unique=False)

    with op.batch_alter_table("transfer_batch", schema=None) as batch_op:
        batch_op.add_column(sa.Column("note", sa.Text(), server_default="", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("transfer_batch", schema=None) as batch_op:
        batch_op.drop_column("note")

    with op.batch_alter_table("retained_copy", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_retained_copy_transfer_batch_id"))
        batch_op.drop_index(batch_op.f("ix_retained_copy_organisation_id"))

    op.drop_table("retained_copy")
    with op.batch_alter_table("material_supplement", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_material_supplement_dossier_id"))

    op.drop_table("material_supplement")
