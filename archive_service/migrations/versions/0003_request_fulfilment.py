"""Retrieval requests: reader, declared relationship, download/print permissions, loans, copies.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 08:30:17.625778
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("retrieval_request", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reader_name", sa.String(length=50), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("relationship", sa.String(length=20), nullable=False, server_default="none"))
        batch_op.add_column(sa.Column("purpose_detail", sa.Text(), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("allow_download", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column("allow_print", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column("loan_out_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("loan_due", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("loan_returned_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("return_check", sa.Text(), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("copies_made", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("handled_by_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_retrieval_request_handled_by_id_app_user"), "app_user", ["handled_by_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("retrieval_request", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_retrieval_request_handled_by_id_app_user"), type_="foreignkey")
        batch_op.drop_column("handled_by_id")
        batch_op.drop_column("copies_made")
        batch_op.drop_column("return_check")
        batch_op.drop_column("loan_returned_at")
        batch_op.drop_column("loan_due")
        batch_op.drop_column("loan_out_at")
        batch_op.drop_column("allow_print")
        batch_op.drop_column("allow_download")
        batch_op.drop_column("purpose_detail")
        batch_op.drop_column("relationship")
        batch_op.drop_column("reader_name")
