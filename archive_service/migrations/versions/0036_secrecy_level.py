"""a file's 密级 instead of a yes/no 涉密 flag (issue 37 item 14): retiree.secrecy and transfer_item.secrecy

A file flagged 涉密 becomes 涉密（密级未定）('unrated'): the flag never said which level, so none is invented; it
stays off the online service as before until someone records its level. The old columns are dropped in place
(SQLite ≥ 3.35 and PostgreSQL both drop an unindexed column) rather than copying the retiree table under the
dossiers' foreign keys.

Revision ID: 0036
Revises: 0035
Create Date: 2026-12-07 13:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0036"
down_revision = "0035"
branch_labels = None
depends_on = None

TABLES = (("retiree", "classified_unit"), ("transfer_item", "classified"))


def upgrade() -> None:
    for table, flag in TABLES:
        op.add_column(table, sa.Column("secrecy", sa.String(length=20), server_default="none", nullable=False))
        op.execute(f"UPDATE {table} SET secrecy = 'unrated' WHERE {flag}")
        op.execute(f"ALTER TABLE {table} DROP COLUMN {flag}")


def downgrade() -> None:
    for table, flag in TABLES:
        op.add_column(table, sa.Column(flag, sa.Boolean(), server_default=sa.false(), nullable=False))
        op.execute(f"UPDATE {table} SET {flag} = (secrecy <> 'none')")
        op.execute(f"ALTER TABLE {table} DROP COLUMN secrecy")
