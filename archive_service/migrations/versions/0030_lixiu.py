"""a bureau may take 离休 retirees' files (issue 37 item 5; 000 一 具备条件的可以移交)

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-07 09:50:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0030"
down_revision = "0029"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("organisation") as batch:
        batch.add_column(sa.Column("accepts_lixiu", sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("organisation") as batch:
        batch.drop_column("accepts_lixiu")
