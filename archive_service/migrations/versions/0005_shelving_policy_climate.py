"""Shelving down to the layer (faces, used volumes under a CHECK), volume profiles, space policy,
projected retirements and the store-room climate log.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 12:48:01.229260
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "retirement_projection",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("bureau_id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("retirees", sa.Integer(), nullable=False),
        sa.CheckConstraint("retirees >= 0", name=op.f("ck_retirement_projection_retirees_not_negative")),
        sa.ForeignKeyConstraint(
            ["bureau_id"], ["organisation.id"], name=op.f("fk_retirement_projection_bureau_id_organisation")
        ),
        sa.ForeignKeyConstraint(
            ["enterprise_id"], ["organisation.id"], name=op.f("fk_retirement_projection_enterprise_id_organisation")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_retirement_projection")),
        sa.UniqueConstraint(
            "bureau_id", "enterprise_id", "year", name=op.f("uq_retirement_projection_bureau_id_enterprise_id_year")
        ),
    )
    with op.batch_alter_table("retirement_projection", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_retirement_projection_bureau_id"), ["bureau_id"], unique=False)

    op.create_table(
        "volume_profile",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("thickness_mm", sa.Integer(), nullable=False),
        sa.Column("height_mm", sa.Integer(), nullable=False),
        sa.Column("depth_mm", sa.Integer(), nullable=False),
        sa.CheckConstraint("thickness_mm > 0", name=op.f("ck_volume_profile_thickness_positive")),
        sa.ForeignKeyConstraint(
            ["organisation_id"], ["organisation.id"], name=op.f("fk_volume_profile_organisation_id_organisation")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_volume_profile")),
        sa.UniqueConstraint("organisation_id", "name", name=op.f("uq_volume_profile_organisation_id_name")),
    )
    op.create_table(
        "environment_reading",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("room_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("temperature_c", sa.Numeric(precision=4, scale=1), nullable=False),
        sa.Column("humidity_pct", sa.Numeric(precision=4, scale=1), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"], ["app_user.id"], name=op.f("fk_environment_reading_recorded_by_id_app_user")
        ),
        sa.ForeignKeyConstraint(["room_id"], ["room.id"], name=op.f("fk_environment_reading_room_id_room")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_environment_reading")),
    )
    with op.batch_alter_table("environment_reading", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_environment_reading_room_id"), ["room_id"], unique=False)

    op.create_table(
        "space_policy",
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("preset", sa.String(length=20), nullable=False),
        sa.Column("area_m2_per_10k_volumes", sa.Numeric(precision=8, scale=2), nullable=False),
        sa.Column("min_area_m2", sa.Numeric(precision=8, scale=2), nullable=False),
        sa.Column("min_area_below_volumes", sa.Integer(), nullable=False),
        sa.Column("volumes_per_archivist", sa.Integer(), nullable=False),
        sa.Column("retirees_per_service_staff", sa.Integer(), nullable=False),
        sa.Column("shelving_m_per_m2", sa.Numeric(precision=6, scale=2), nullable=False),
        sa.Column("planning_years", sa.Integer(), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"], ["organisation.id"], name=op.f("fk_space_policy_organisation_id_organisation")
        ),
        sa.ForeignKeyConstraint(
            ["updated_by_id"], ["app_user.id"], name=op.f("fk_space_policy_updated_by_id_app_user")
        ),
        sa.PrimaryKeyConstraint("organisation_id", name=op.f("pk_space_policy")),
    )
    with op.batch_alter_table("shelf_slot", schema=None) as batch_op:
        batch_op.add_column(sa.Column("side", sa.Integer(), nullable=False, server_default="1"))
        batch_op.add_column(sa.Column("capacity_set_directly", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column("used_volumes", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("shelf_order", sa.Integer(), nullable=False, server_default="0"))
        batch_op.drop_constraint(batch_op.f("uq_shelf_slot_unit_id_column_no_section_no_layer_no"), type_="unique")
        batch_op.create_index(batch_op.f("ix_shelf_slot_unit_id"), ["unit_id"], unique=False)
        batch_op.create_unique_constraint(
            batch_op.f("uq_shelf_slot_unit_id_column_no_side_section_no_layer_no"),
            ["unit_id", "column_no", "side", "section_no", "layer_no"],
        )
    # Slots filled before this revision count what already stands on them, then the CHECK holds.
    op.execute(
        "UPDATE shelf_slot SET used_volumes = "
        "(SELECT COALESCE(SUM(volumes), 0) FROM dossier WHERE dossier.shelf_slot_id = shelf_slot.id)"
    )
    with op.batch_alter_table("shelf_slot", schema=None) as batch_op:
        batch_op.create_check_constraint(
            op.f("ck_shelf_slot_within_capacity"), "used_volumes >= 0 AND used_volumes <= capacity_volumes"
        )

    with op.batch_alter_table("shelving_unit", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sides", sa.Integer(), nullable=False, server_default="2"))
        batch_op.add_column(sa.Column("profile_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_shelving_unit_profile_id_volume_profile"), "volume_profile", ["profile_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("shelving_unit", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_shelving_unit_profile_id_volume_profile"), type_="foreignkey")
        batch_op.drop_column("profile_id")
        batch_op.drop_column("sides")

    with op.batch_alter_table("shelf_slot", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_shelf_slot_within_capacity"), type_="check")
        batch_op.drop_constraint(batch_op.f("uq_shelf_slot_unit_id_column_no_side_section_no_layer_no"), type_="unique")
        batch_op.drop_index(batch_op.f("ix_shelf_slot_unit_id"))
        batch_op.create_unique_constraint(
            batch_op.f("uq_shelf_slot_unit_id_column_no_section_no_layer_no"),
            ["unit_id", "column_no", "section_no", "layer_no"],
        )
        batch_op.drop_column("shelf_order")
        batch_op.drop_column("used_volumes")
        batch_op.drop_column("capacity_set_directly")
        batch_op.drop_column("side")

    op.drop_table("space_policy")
    with op.batch_alter_table("environment_reading", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_environment_reading_room_id"))

    op.drop_table("environment_reading")
    op.drop_table("volume_profile")
    with op.batch_alter_table("retirement_projection", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_retirement_projection_bureau_id"))

    op.drop_table("retirement_projection")
