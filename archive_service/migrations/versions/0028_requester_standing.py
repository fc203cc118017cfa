"""each bureau's own standing for a requester of a shared agency or community (issue 40, High 5)

Until now any bureau's security officer could disable, enable or create a requester of an agency every bureau
serves, and the account's one switch held for all. Existing accounts keep what they had: a standing at every
bureau, active as the account was (the account itself is enabled again: its disabled state now lives in every
bureau's standing). Their home — the bureau that alone resets their password and code — is the bureau of the
agency's own district (same region code), where there is one.

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-07 09:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None

SERVED = "o.kind IN ('agency', 'community') AND u.role = 'requester'"


def upgrade() -> None:
    op.create_table(
        "requester_standing",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("bureau_id", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("home", sa.Boolean(), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("changed_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["bureau_id"], ["organisation.id"], name=op.f("fk_requester_standing_bureau_id_organisation")
        ),
        sa.ForeignKeyConstraint(
            ["changed_by_id"], ["app_user.id"], name=op.f("fk_requester_standing_changed_by_id_app_user")
        ),
        sa.ForeignKeyConstraint(["user_id"], ["app_user.id"], name=op.f("fk_requester_standing_user_id_app_user")),
        sa.PrimaryKeyConstraint("user_id", "bureau_id", name=op.f("pk_requester_standing")),
    )
    op.execute(
        "INSERT INTO requester_standing (user_id, bureau_id, active, home, changed_at) "
        "SELECT u.id, b.id, u.active, b.region_code = o.region_code, CURRENT_TIMESTAMP "
        "FROM app_user u JOIN organisation o ON o.id = u.organisation_id, organisation b "
        f"WHERE b.kind = 'bureau' AND {SERVED}"
    )
    op.execute(
        "UPDATE app_user SET active = TRUE WHERE id IN "
        f"(SELECT u.id FROM app_user u JOIN organisation o ON o.id = u.organisation_id WHERE {SERVED})"
    )


def downgrade() -> None:
    op.execute(
        "UPDATE app_user SET active = FALSE WHERE id IN (SELECT user_id FROM requester_standing) AND NOT EXISTS "
        "(SELECT 1 FROM requester_standing s WHERE s.user_id = app_user.id AND s.active)"
    )
    op.drop_table("requester_standing")
