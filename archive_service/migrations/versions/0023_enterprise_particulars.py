"""an enterprise's contact person and telephone, and the managing unit of a defunct one, kept with the enterprise
as the 移交单位 page registers it (issue 36); its level may now be 其他

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-07 06:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The level is a string column without a constraint (native_enum=False): 'other' needs no change there.
    with op.batch_alter_table("organisation", schema=None) as batch_op:
        batch_op.add_column(sa.Column("contact_person", sa.String(length=50), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("contact_phone", sa.String(length=30), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("managing_unit", sa.String(length=200), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("organisation", schema=None) as batch_op:
        batch_op.drop_column("managing_unit")
        batch_op.drop_column("contact_phone")
        batch_op.drop_column("contact_person")
