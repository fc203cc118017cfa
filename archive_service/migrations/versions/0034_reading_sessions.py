"""到馆查阅 recorded: reading sessions (阅档登记) and the bureau's staff-present setting (issue 37 item 6;
晋宁 第八条(七) 查阅利用, 004 第十八条 阅档室)

Revision ID: 0034
Revises: 0033
Create Date: 2026-12-07 13:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0034"
down_revision = "0033"
branch_labels = None
depends_on = None

FILE_OUT = "out_at IS NOT NULL AND ended_at IS NULL"


def upgrade() -> None:
    with op.batch_alter_table("organisation") as batch:
        batch.add_column(sa.Column("reading_staff", sa.Integer(), server_default="1", nullable=False))
    op.create_table(
        "reading_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("dossier_id", sa.Integer(), nullable=False),
        sa.Column("bureau_id", sa.Integer(), nullable=False),
        sa.Column("opened_by_id", sa.Integer(), nullable=False),
        sa.Column("staff_ids", sa.JSON(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("materials", sa.JSON(), nullable=False),
        sa.Column("slot_id", sa.Integer(), nullable=True),
        sa.Column("out_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_by_id", sa.Integer(), nullable=True),
        sa.Column("return_check", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"], ["retrieval_request.id"], name=op.f("fk_reading_session_request_id_retrieval_request")
        ),
        sa.ForeignKeyConstraint(["dossier_id"], ["dossier.id"], name=op.f("fk_reading_session_dossier_id_dossier")),
        sa.ForeignKeyConstraint(
            ["bureau_id"], ["organisation.id"], name=op.f("fk_reading_session_bureau_id_organisation")
        ),
        sa.ForeignKeyConstraint(
            ["opened_by_id"], ["app_user.id"], name=op.f("fk_reading_session_opened_by_id_app_user")
        ),
        sa.ForeignKeyConstraint(["slot_id"], ["shelf_slot.id"], name=op.f("fk_reading_session_slot_id_shelf_slot")),
        sa.ForeignKeyConstraint(["ended_by_id"], ["app_user.id"], name=op.f("fk_reading_session_ended_by_id_app_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reading_session")),
    )
    op.create_index(op.f("ix_reading_session_request_id"), "reading_session", ["request_id"])
    op.create_index(op.f("ix_reading_session_dossier_id"), "reading_session", ["dossier_id"])
    op.create_index(op.f("ix_reading_session_bureau_id"), "reading_session", ["bureau_id"])
    op.create_index(
        "uq_reading_session_file_out",
        "reading_session",
        ["dossier_id"],
        unique=True,
        sqlite_where=sa.text(FILE_OUT),
        postgresql_where=sa.text(FILE_OUT),
    )


def downgrade() -> None:
    op.drop_index("uq_reading_session_file_out", "reading_session")
    op.drop_table("reading_session")
    with op.batch_alter_table("organisation") as batch:
        batch.drop_column("reading_staff")
