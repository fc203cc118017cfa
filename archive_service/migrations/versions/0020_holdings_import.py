"""the holdings import (存量档案导入): ledgers, their mappings and problems, each file's ledger entry; 原档号 on
the dossier; a retiree's citizen ID may wait to be completed (a ledger without it)

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-02 10:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "holdings_import",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("bureau_id", sa.Integer(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("sheets", sa.JSON(), nullable=False),
        sa.Column("decisions", sa.JSON(), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=True),
        sa.Column("job_id", sa.Integer(), nullable=True),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("saved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("saved_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["bureau_id"], ["organisation.id"], name=op.f("fk_holdings_import_bureau_id_organisation")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["app_user.id"], name=op.f("fk_holdings_import_created_by_id_app_user")
        ),
        sa.ForeignKeyConstraint(["saved_by_id"], ["app_user.id"], name=op.f("fk_holdings_import_saved_by_id_app_user")),
        sa.ForeignKeyConstraint(["job_id"], ["job.id"], name=op.f("fk_holdings_import_job_id_job")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_holdings_import")),
    )
    op.create_index(op.f("ix_holdings_import_bureau_id"), "holdings_import", ["bureau_id"])
    op.create_table(
        "holdings_problem",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("import_id", sa.Integer(), nullable=False),
        sa.Column("sheet", sa.String(length=100), nullable=False),
        sa.Column("row", sa.Integer(), nullable=False),
        sa.Column("column", sa.String(length=60), nullable=False),
        sa.Column("code", sa.String(length=60), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("blocking", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["import_id"], ["holdings_import.id"], name=op.f("fk_holdings_problem_import_id_holdings_import")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_holdings_problem")),
    )
    op.create_index(op.f("ix_holdings_problem_import_id"), "holdings_problem", ["import_id"])
    op.create_table(
        "holdings_mapping",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("bureau_id", sa.Integer(), nullable=False),
        sa.Column("shape", sa.String(length=64), nullable=False),
        sa.Column("headers", sa.JSON(), nullable=False),
        sa.Column("mapping", sa.JSON(), nullable=False),
        sa.Column("saved_by_id", sa.Integer(), nullable=False),
        sa.Column("saved_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["bureau_id"], ["organisation.id"], name=op.f("fk_holdings_mapping_bureau_id_organisation")
        ),
        sa.ForeignKeyConstraint(
            ["saved_by_id"], ["app_user.id"], name=op.f("fk_holdings_mapping_saved_by_id_app_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_holdings_mapping")),
        sa.UniqueConstraint("bureau_id", "shape", name=op.f("uq_holdings_mapping_bureau_id_shape")),
    )
    op.create_table(
        "holdings_entry",
        sa.Column("dossier_id", sa.Integer(), nullable=False),
        sa.Column("import_id", sa.Integer(), nullable=False),
        sa.Column("sheet", sa.String(length=100), nullable=False),
        sa.Column("row", sa.Integer(), nullable=False),
        sa.Column("entered_on", sa.Date(), nullable=True),
        sa.Column("former_employer", sa.String(length=200), nullable=False),
        sa.Column("secrecy", sa.String(length=20), nullable=False),
        sa.Column("remarks", sa.Text(), nullable=False),
        sa.Column("as_written", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["dossier_id"], ["dossier.id"], name=op.f("fk_holdings_entry_dossier_id_dossier")),
        sa.ForeignKeyConstraint(
            ["import_id"], ["holdings_import.id"], name=op.f("fk_holdings_entry_import_id_holdings_import")
        ),
        sa.PrimaryKeyConstraint("dossier_id", name=op.f("pk_holdings_entry")),
    )
    op.create_index(op.f("ix_holdings_entry_import_id"), "holdings_entry", ["import_id"])
    with op.batch_alter_table("dossier") as batch:
        batch.add_column(sa.Column("former_archival_code", sa.String(length=64), nullable=True))
        batch.create_index(batch.f("ix_dossier_former_archival_code"), ["former_archival_code"])
    _retiree_citizen_id(nullable=True)
    # Every dossier's search document now carries its 原档号 (empty for most): index them again.
    op.execute("INSERT INTO search_outbox (dossier_id, queued_at) SELECT id, CURRENT_TIMESTAMP FROM dossier")


def _retiree_citizen_id(nullable: bool) -> None:
    # On SQLite the table is copied: `migrate.upgrade` runs migrations with the foreign-key check off and
    # checks every key afterwards, as SQLite's own procedure for altering a table asks.
    with op.batch_alter_table("retiree") as batch:
        batch.alter_column("citizen_id", existing_type=sa.String(length=18), nullable=nullable)


def downgrade() -> None:
    _retiree_citizen_id(nullable=False)
    with op.batch_alter_table("dossier") as batch:
        batch.drop_index(batch.f("ix_dossier_former_archival_code"))
        batch.drop_column("former_archival_code")
    op.drop_index(op.f("ix_holdings_entry_import_id"), "holdings_entry")
    op.drop_table("holdings_entry")
    op.drop_table("holdings_mapping")
    op.drop_index(op.f("ix_holdings_problem_import_id"), "holdings_problem")
    op.drop_table("holdings_problem")
    op.drop_index(op.f("ix_holdings_import_bureau_id"), "holdings_import")
    op.drop_table("holdings_import")
