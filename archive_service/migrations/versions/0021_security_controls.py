"""level-3 security controls (issue 40): 三员分立's security officer, passwords and sessions, the second factor,
the bureau's security policy, personal information encrypted at rest, SM3 as a bureau's choice

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-02 09:00:00
"""

import sqlalchemy as sa
from alembic import op

from archive_service import protection

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

# What this revision encrypts (the models declare the same columns as `Protected`).
PROTECTED = [
    protection.ProtectedColumn("retiree", "citizen_id", searchable=True, tail=True),
    protection.ProtectedColumn("transfer_item", "citizen_id", searchable=True, tail=False),
    protection.ProtectedColumn("retrieval_request", "id_document", searchable=False, tail=False),
    protection.ProtectedColumn("app_user", "totp_secret", searchable=False, tail=False),
    protection.ProtectedColumn("app_user", "totp_pending_secret", searchable=False, tail=False),
]


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    with op.batch_alter_table("app_user") as batch:
        batch.add_column(
            sa.Column("password_changed_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now())
        )
        batch.add_column(sa.Column("must_change_password", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("totp_secret", sa.String(length=255), nullable=True))
        batch.add_column(sa.Column("totp_pending_secret", sa.String(length=255), nullable=True))
        batch.add_column(sa.Column("totp_last_step", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("totp_enrolled_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("session_token") as batch:
        batch.add_column(sa.Column("stage", sa.String(length=20), nullable=False, server_default="signed_in"))
        batch.add_column(sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("client_address", sa.String(length=64), nullable=False, server_default=""))
        batch.add_column(sa.Column("user_agent", sa.String(length=200), nullable=False, server_default=""))
        batch.add_column(sa.Column("via", sa.String(length=10), nullable=False, server_default="web"))
        batch.add_column(sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("ended_reason", sa.String(length=100), nullable=False, server_default=""))
    op.create_table(
        "password_history",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("set_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["app_user.id"], name=op.f("fk_password_history_user_id_app_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_password_history")),
    )
    op.create_index(op.f("ix_password_history_user_id"), "password_history", ["user_id"])
    op.create_table(
        "recovery_code",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("code_sha256", sa.String(length=64), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["app_user.id"], name=op.f("fk_recovery_code_user_id_app_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recovery_code")),
    )
    op.create_index(op.f("ix_recovery_code_user_id"), "recovery_code", ["user_id"])
    op.create_table(
        "security_policy",
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("two_factor_roles", sa.JSON(), nullable=False),
        sa.Column("password_min_length", sa.Integer(), nullable=False),
        sa.Column("password_min_classes", sa.Integer(), nullable=False),
        sa.Column("password_max_age_days", sa.Integer(), nullable=False),
        sa.Column("password_history", sa.Integer(), nullable=False),
        sa.Column("change_at_first_login", sa.Boolean(), nullable=False),
        sa.Column("idle_minutes", sa.Integer(), nullable=False),
        sa.Column("session_hours", sa.Integer(), nullable=False),
        sa.Column("log_retention_days", sa.Integer(), nullable=True),
        sa.Column("hash_algorithm", sa.String(length=10), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["organisation_id"], ["organisation.id"], name=op.f("fk_security_policy_organisation_id_organisation")
        ),
        sa.ForeignKeyConstraint(
            ["updated_by_id"], ["app_user.id"], name=op.f("fk_security_policy_updated_by_id_app_user")
        ),
        sa.PrimaryKeyConstraint("organisation_id", name=op.f("pk_security_policy")),
    )
    op.create_table(
        "data_key",
        sa.Column("key_id", sa.String(length=8), nullable=False),
        sa.Column("check_value", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("key_id", name=op.f("pk_data_key")),
    )
    # The access log's chain and the fixity sums in SM3 where a bureau chooses it (the entry says which).
    op.add_column(
        "access_log_entry", sa.Column("algorithm", sa.String(length=10), nullable=False, server_default="sha256")
    )
    with op.batch_alter_table("digital_object") as batch:
        batch.add_column(sa.Column("sm3", sa.String(length=64), nullable=True))

    # Encrypt what is there. PostgreSQL: wider columns and the unique rules moved to the keyed digest. SQLite
    # does not enforce lengths, and its old unique constraints (now on ciphertext, random per value) stay
    # harmless rather than copy the retiree table under the dossiers' foreign keys.
    if postgres:
        op.drop_constraint("uq_retiree_citizen_id", "retiree", type_="unique")
        op.drop_constraint("uq_transfer_item_batch_id_citizen_id", "transfer_item", type_="unique")
        for table, column in (("retiree", "citizen_id"), ("transfer_item", "citizen_id")):
            op.alter_column(table, column, type_=sa.String(length=255))
        op.alter_column("retrieval_request", "id_document", type_=sa.String(length=255), existing_nullable=False)
    connection = op.get_bind()
    key = protection.register_or_check(connection)
    protection.reseal_all(connection, PROTECTED, key)
    op.create_index("uq_retiree_citizen_id_digest", "retiree", [sa.text("substr(citizen_id, 1, 64)")], unique=True)
    op.create_index("ix_retiree_citizen_id_tail", "retiree", [sa.text("substr(citizen_id, 66, 16)")])
    op.create_index(
        "uq_transfer_item_batch_citizen_id_digest",
        "transfer_item",
        ["batch_id", sa.text("substr(citizen_id, 1, 64)")],
        unique=True,
    )
    op.create_index("ix_transfer_item_citizen_id_digest", "transfer_item", [sa.text("substr(citizen_id, 1, 64)")])


def downgrade() -> None:
    raise NotImplementedError("0020 encrypts personal information: there is no way back to plaintext columns")
