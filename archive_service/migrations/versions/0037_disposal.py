"""retention rules and the 销毁清册 (issue 37 item 12; 晋政办通〔2020〕18号 第八条(七) 处置): a list is kept
forever — the database refuses to delete a list, its entries or its signatures, and to change a signature

Revision ID: 0037
Revises: 0036
Create Date: 2026-12-07 13:20:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0037"
down_revision = "0036"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "retention_rule",
        sa.Column("bureau_id", sa.Integer(), nullable=False),
        sa.Column(
            "state",
            sa.Enum("death", "disappearance", "emigration", name="retentionstate", native_enum=False, length=20),
            nullable=False,
        ),  # fmt: skip
        sa.Column("years", sa.Integer(), nullable=False),
        sa.Column("basis", sa.String(length=200), nullable=False),
        sa.Column("set_by_id", sa.Integer(), nullable=False),
        sa.Column("set_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["bureau_id"], ["organisation.id"], name=op.f("fk_retention_rule_bureau_id_organisation")
        ),
        sa.ForeignKeyConstraint(["set_by_id"], ["app_user.id"], name=op.f("fk_retention_rule_set_by_id_app_user")),
        sa.PrimaryKeyConstraint("bureau_id", "state", name=op.f("pk_retention_rule")),
    )
    op.create_table(
        "disposal_list",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("bureau_id", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum("drawn", "approved", "carried_out", name="disposalstatus", native_enum=False, length=20),
            nullable=False,
        ),  # fmt: skip
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("drawn_by_id", sa.Integer(), nullable=False),
        sa.Column("drawn_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("carried_out_by_id", sa.Integer(), nullable=True),
        sa.Column("carried_out_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["bureau_id"], ["organisation.id"], name=op.f("fk_disposal_list_bureau_id_organisation")
        ),
        sa.ForeignKeyConstraint(["drawn_by_id"], ["app_user.id"], name=op.f("fk_disposal_list_drawn_by_id_app_user")),
        sa.ForeignKeyConstraint(
            ["carried_out_by_id"], ["app_user.id"], name=op.f("fk_disposal_list_carried_out_by_id_app_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_disposal_list")),
        sa.UniqueConstraint("number", name=op.f("uq_disposal_list_number")),
    )
    with op.batch_alter_table("disposal_list") as batch:
        batch.create_index(batch.f("ix_disposal_list_bureau_id"), ["bureau_id"], unique=False)
    op.create_table(
        "disposal_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("list_id", sa.Integer(), nullable=False),
        sa.Column("row_no", sa.Integer(), nullable=False),
        sa.Column("dossier_id", sa.Integer(), nullable=False),
        sa.Column("archival_code", sa.String(length=64), nullable=False),
        sa.Column("retiree_name", sa.String(length=50), nullable=False),
        sa.Column(
            "state",
            sa.Enum("death", "disappearance", "emigration", name="retentionstate", native_enum=False, length=20),
            nullable=False,
        ),  # fmt: skip
        sa.Column("state_on", sa.Date(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("volumes", sa.Integer(), nullable=False),
        sa.Column("pages", sa.Integer(), nullable=False),
        sa.Column("shelf_slot", sa.String(length=100), server_default="", nullable=False),
        sa.Column("objects_removed", sa.Integer(), nullable=True),
        sa.Column("bytes_removed", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["list_id"], ["disposal_list.id"], name=op.f("fk_disposal_entry_list_id_disposal_list")
        ),
        sa.ForeignKeyConstraint(["dossier_id"], ["dossier.id"], name=op.f("fk_disposal_entry_dossier_id_dossier")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_disposal_entry")),
        sa.UniqueConstraint("list_id", "row_no", name=op.f("uq_disposal_entry_list_id_row_no")),
        sa.UniqueConstraint("list_id", "dossier_id", name=op.f("uq_disposal_entry_list_id_dossier_id")),
    )
    with op.batch_alter_table("disposal_entry") as batch:
        batch.create_index(batch.f("ix_disposal_entry_list_id"), ["list_id"], unique=False)
        batch.create_index(batch.f("ix_disposal_entry_dossier_id"), ["dossier_id"], unique=False)
    op.create_table(
        "disposal_signature",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("list_id", sa.Integer(), nullable=False),
        sa.Column("signed_by_id", sa.Integer(), nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("opinion", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["list_id"], ["disposal_list.id"], name=op.f("fk_disposal_signature_list_id_disposal_list")
        ),
        sa.ForeignKeyConstraint(
            ["signed_by_id"], ["app_user.id"], name=op.f("fk_disposal_signature_signed_by_id_app_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_disposal_signature")),
        sa.UniqueConstraint("list_id", "signed_by_id", name=op.f("uq_disposal_signature_list_id_signed_by_id")),
    )
    with op.batch_alter_table("disposal_signature") as batch:
        batch.create_index(batch.f("ix_disposal_signature_list_id"), ["list_id"], unique=False)
    for table in ("disposal_list", "disposal_entry"):
        _refuse(table, "DELETE")
    _refuse("disposal_signature", "UPDATE OR DELETE")


# The 销毁清册 is evidence of what was destroyed and on whose word: kept forever, as the custody chain is.
def _refuse(table: str, verbs: str) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE OR REPLACE FUNCTION refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION 'table % is append-only', TG_TABLE_NAME; END $$"
        )
        op.execute(
            f"CREATE TRIGGER {table}_kept BEFORE {verbs} ON {table} FOR EACH ROW EXECUTE FUNCTION refuse_change()"
        )
    else:
        for verb in verbs.split(" OR "):
            op.execute(
                f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is kept forever'); END"
            )


def downgrade() -> None:
    op.drop_table("disposal_signature")
    op.drop_table("disposal_entry")
    op.drop_table("disposal_list")
    op.drop_table("retention_rule")
