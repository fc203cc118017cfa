"""a retrieval request belongs to the bureau that held the file when it was asked for (issue 36, item 7)

A file sent on (转递) changes custodian; its requests stay with the bureau that decided them.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-07 07:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("retrieval_request") as batch_op:
        batch_op.add_column(sa.Column("bureau_id", sa.Integer(), nullable=True))
    op.execute(
        "UPDATE retrieval_request SET bureau_id = "
        "(SELECT custodian_id FROM dossier WHERE dossier.id = retrieval_request.dossier_id)"
    )
    with op.batch_alter_table("retrieval_request") as batch_op:
        batch_op.alter_column("bureau_id", existing_type=sa.Integer(), nullable=False)
        batch_op.create_foreign_key(
            op.f("fk_retrieval_request_bureau_id_organisation"), "organisation", ["bureau_id"], ["id"]
        )
        batch_op.create_index(op.f("ix_retrieval_request_bureau_id"), ["bureau_id"])


def downgrade() -> None:
    with op.batch_alter_table("retrieval_request") as batch_op:
        batch_op.drop_index(op.f("ix_retrieval_request_bureau_id"))
        batch_op.drop_constraint(op.f("fk_retrieval_request_bureau_id_organisation"), type_="foreignkey")
        batch_op.drop_column("bureau_id")
