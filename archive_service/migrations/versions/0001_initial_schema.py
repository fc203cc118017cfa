"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-23 07:21:36.019402
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "class_scheme",
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_class_scheme")),
    )
    op.create_table(
        "login_attempt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("client_address", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("succeeded", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_attempt")),
    )
    with op.batch_alter_table("login_attempt", schema=None) as batch_op:
        batch_op.create_index("ix_login_attempt_lookup", ["username", "client_address", "at"], unique=False)

    op.create_table(
        "organisation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "enterprise",
                "bureau",
                "community",
                "agency",
                name="organisationkind",
                native_enum=False,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("credit_code", sa.String(length=18), nullable=False),
        sa.Column("region_code", sa.String(length=6), nullable=False),
        sa.Column(
            "level",
            sa.Enum(
                "central",
                "provincial",
                "city",
                "district",
                name="organisationlevel",
                native_enum=False,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("fonds_code", sa.String(length=8), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organisation")),
        sa.UniqueConstraint("credit_code", name=op.f("uq_organisation_credit_code")),
        sa.UniqueConstraint("fonds_code", name=op.f("uq_organisation_fonds_code")),
    )
    op.create_table(
        "app_user",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=100), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column(
            "role",
            sa.Enum(
                "intake_clerk",
                "archivist",
                "approver",
                "requester",
                "auditor",
                "administrator",
                name="role",
                native_enum=False,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"], ["organisation.id"], name=op.f("fk_app_user_organisation_id_organisation")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_app_user")),
        sa.UniqueConstraint("username", name=op.f("uq_app_user_username")),
    )
    op.create_table(
        "material_class",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scheme_code", sa.String(length=32), nullable=False),
        sa.Column("code", sa.String(length=8), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("top_class", sa.Integer(), nullable=False),
        sa.Column("sort_key", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["scheme_code"], ["class_scheme.code"], name=op.f("fk_material_class_scheme_code_class_scheme")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_material_class")),
        sa.UniqueConstraint("scheme_code", "code", name=op.f("uq_material_class_scheme_code_code")),
    )
    op.create_table(
        "retiree",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("sex", sa.String(length=1), nullable=False),
        sa.Column("citizen_id", sa.String(length=18), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=False),
        sa.Column("work_start_date", sa.Date(), nullable=True),
        sa.Column("retirement_date", sa.Date(), nullable=True),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("hukou_region_code", sa.String(length=6), nullable=False),
        sa.Column("residence_region_code", sa.String(length=6), nullable=False),
        sa.Column("party_member", sa.Boolean(), nullable=False),
        sa.Column("leader_cadre", sa.Boolean(), nullable=False),
        sa.Column("classified_unit", sa.Boolean(), nullable=False),
        sa.Column("deceased_date", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["enterprise_id"], ["organisation.id"], name=op.f("fk_retiree_enterprise_id_organisation")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_retiree")),
        sa.UniqueConstraint("citizen_id", name=op.f("uq_retiree_citizen_id")),
    )
    op.create_table(
        "room",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("store", "reading", "office", name="roomkind", native_enum=False, length=20),
            nullable=False,
        ),
        sa.Column("usable_area_m2", sa.Numeric(precision=10, scale=2), nullable=False),
        sa.Column("temp_min_c", sa.Numeric(precision=4, scale=1), nullable=False),
        sa.Column("temp_max_c", sa.Numeric(precision=4, scale=1), nullable=False),
        sa.Column("rh_min_pct", sa.Numeric(precision=4, scale=1), nullable=False),
        sa.Column("rh_max_pct", sa.Numeric(precision=4, scale=1), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"], ["organisation.id"], name=op.f("fk_room_organisation_id_organisation")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_room")),
        sa.UniqueConstraint("organisation_id", "name", name=op.f("uq_room_organisation_id_name")),
    )
    op.create_table(
        "session_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_sha256", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["app_user.id"], name=op.f("fk_session_token_user_id_app_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_session_token")),
        sa.UniqueConstraint("token_sha256", name=op.f("uq_session_token_token_sha256")),
    )
    op.create_table(
        "shelving_unit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("room_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(["room_id"], ["room.id"], name=op.f("fk_shelving_unit_room_id_room")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shelving_unit")),
        sa.UniqueConstraint("room_id", "code", name=op.f("uq_shelving_unit_room_id_code")),
    )
    op.create_table(
        "transfer_batch",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("intake", "onward", name="transferkind", native_enum=False, length=20),
            nullable=False,
        ),
        sa.Column("from_org_id", sa.Integer(), nullable=False),
        sa.Column("to_org_id", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "registered",
                "receiving",
                "received",
                "confirmed",
                "cancelled",
                name="transferstatus",
                native_enum=False,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sender_confirmed_by", sa.String(length=100), nullable=True),
        sa.Column("sender_confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("receiver_confirmed_by_id", sa.Integer(), nullable=True),
        sa.Column("receiver_confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acceptance", sa.JSON(), nullable=True),
        sa.Column("manifest_sha256", sa.String(length=64), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["app_user.id"], name=op.f("fk_transfer_batch_created_by_id_app_user")
        ),
        sa.ForeignKeyConstraint(
            ["from_org_id"], ["organisation.id"], name=op.f("fk_transfer_batch_from_org_id_organisation")
        ),
        sa.ForeignKeyConstraint(
            ["receiver_confirmed_by_id"],
            ["app_user.id"],
            name=op.f("fk_transfer_batch_receiver_confirmed_by_id_app_user"),
        ),
        sa.ForeignKeyConstraint(
            ["to_org_id"], ["organisation.id"], name=op.f("fk_transfer_batch_to_org_id_organisation")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transfer_batch")),
        sa.UniqueConstraint("number", name=op.f("uq_transfer_batch_number")),
    )
    with op.batch_alter_table("transfer_batch", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_transfer_batch_to_org_id"), ["to_org_id"], unique=False)

    op.create_table(
        "shelf_slot",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("column_no", sa.Integer(), nullable=False),
        sa.Column("section_no", sa.Integer(), nullable=False),
        sa.Column("layer_no", sa.Integer(), nullable=False),
        sa.Column("usable_width_mm", sa.Integer(), nullable=False),
        sa.Column("capacity_volumes", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["unit_id"], ["shelving_unit.id"], name=op.f("fk_shelf_slot_unit_id_shelving_unit")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shelf_slot")),
        sa.UniqueConstraint(
            "unit_id",
            "column_no",
            "section_no",
            "layer_no",
            name=op.f("uq_shelf_slot_unit_id_column_no_section_no_layer_no"),
        ),
    )
    op.create_table(
        "dossier",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("archival_code", sa.String(length=64), nullable=False),
        sa.Column("retiree_id", sa.Integer(), nullable=False),
        sa.Column("custodian_id", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "at_enterprise",
                "in_transfer",
                "in_custody",
                "on_loan",
                "transferred_out",
                name="dossierstatus",
                native_enum=False,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("volumes", sa.Integer(), nullable=False),
        sa.Column("pages", sa.Integer(), nullable=False),
        sa.Column("class_scheme", sa.String(length=32), nullable=False),
        sa.Column("shelf_slot_id", sa.Integer(), nullable=True),
        sa.Column(
            "digitisation",
            sa.Enum(
                "not_started",
                "in_progress",
                "done",
                "failed",
                name="digitisationstate",
                native_enum=False,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["class_scheme"], ["class_scheme.code"], name=op.f("fk_dossier_class_scheme_class_scheme")
        ),
        sa.ForeignKeyConstraint(
            ["custodian_id"], ["organisation.id"], name=op.f("fk_dossier_custodian_id_organisation")
        ),
        sa.ForeignKeyConstraint(["retiree_id"], ["retiree.id"], name=op.f("fk_dossier_retiree_id_retiree")),
        sa.ForeignKeyConstraint(["shelf_slot_id"], ["shelf_slot.id"], name=op.f("fk_dossier_shelf_slot_id_shelf_slot")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dossier")),
        sa.UniqueConstraint("archival_code", name=op.f("uq_dossier_archival_code")),
        sa.UniqueConstraint("retiree_id", name=op.f("uq_dossier_retiree_id")),
    )
    with op.batch_alter_table("dossier", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_dossier_custodian_id"), ["custodian_id"], unique=False)

    op.create_table(
        "custody_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dossier_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "registered",
                "transfer_sent",
                "received",
                "shelved",
                "moved",
                "loaned",
                "returned",
                "transferred_out",
                name="custodyeventkind",
                native_enum=False,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("from_org_id", sa.Integer(), nullable=True),
        sa.Column("to_org_id", sa.Integer(), nullable=True),
        sa.Column("from_slot_id", sa.Integer(), nullable=True),
        sa.Column("to_slot_id", sa.Integer(), nullable=True),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("transfer_batch_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["actor_id"], ["app_user.id"], name=op.f("fk_custody_event_actor_id_app_user")),
        sa.ForeignKeyConstraint(["dossier_id"], ["dossier.id"], name=op.f("fk_custody_event_dossier_id_dossier")),
        sa.ForeignKeyConstraint(
            ["from_org_id"], ["organisation.id"], name=op.f("fk_custody_event_from_org_id_organisation")
        ),
        sa.ForeignKeyConstraint(
            ["from_slot_id"], ["shelf_slot.id"], name=op.f("fk_custody_event_from_slot_id_shelf_slot")
        ),
        sa.ForeignKeyConstraint(
            ["to_org_id"], ["organisation.id"], name=op.f("fk_custody_event_to_org_id_organisation")
        ),
        sa.ForeignKeyConstraint(["to_slot_id"], ["shelf_slot.id"], name=op.f("fk_custody_event_to_slot_id_shelf_slot")),
        sa.ForeignKeyConstraint(
            ["transfer_batch_id"],
            ["transfer_batch.id"],
            name=op.f("fk_custody_event_transfer_batch_id_transfer_batch"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_custody_event")),
    )
    with op.batch_alter_table("custody_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_custody_event_dossier_id"), ["dossier_id"], unique=False)

    op.create_table(
        "digital_object",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dossier_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("storage_key", sa.String(length=200), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("media_type", sa.String(length=80), nullable=False),
        sa.Column("pages", sa.Integer(), nullable=True),
        sa.Column("pdfa_level", sa.String(length=8), nullable=True),
        sa.Column("ocr_engine", sa.String(length=60), nullable=True),
        sa.Column("ocr_languages", sa.String(length=60), nullable=True),
        sa.Column("page_confidence", sa.JSON(), nullable=True),
        sa.Column("qc_results", sa.JSON(), nullable=True),
        sa.Column("pipeline_version", sa.String(length=40), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["dossier_id"], ["dossier.id"], name=op.f("fk_digital_object_dossier_id_dossier")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_digital_object")),
        sa.UniqueConstraint("dossier_id", "name", "version", name=op.f("uq_digital_object_dossier_id_name_version")),
    )
    with op.batch_alter_table("digital_object", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_digital_object_dossier_id"), ["dossier_id"], unique=False)

    op.create_table(
        "material",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dossier_id", sa.Integer(), nullable=False),
        sa.Column("material_class_id", sa.Integer(), nullable=False),
        sa.Column("item_no", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("date_formed", sa.String(length=8), nullable=True),
        sa.Column("copies", sa.Integer(), nullable=False),
        sa.Column("pages", sa.Integer(), nullable=False),
        sa.Column("remarks", sa.String(length=200), nullable=False),
        sa.Column("first_page", sa.Integer(), nullable=True),
        sa.Column("last_page", sa.Integer(), nullable=True),
        sa.Column("added_after_handover", sa.Boolean(), nullable=False),
        sa.Column("sort_key", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["dossier_id"], ["dossier.id"], name=op.f("fk_material_dossier_id_dossier")),
        sa.ForeignKeyConstraint(
            ["material_class_id"],
            ["material_class.id"],
            name=op.f("fk_material_material_class_id_material_class"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_material")),
        sa.UniqueConstraint(
            "dossier_id",
            "material_class_id",
            "item_no",
            name=op.f("uq_material_dossier_id_material_class_id_item_no"),
        ),
    )
    with op.batch_alter_table("material", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_material_dossier_id"), ["dossier_id"], unique=False)

    op.create_table(
        "retrieval_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("requester_id", sa.Integer(), nullable=False),
        sa.Column("requester_org_id", sa.Integer(), nullable=False),
        sa.Column("dossier_id", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(length=40), nullable=False),
        sa.Column("material_classes", sa.JSON(), nullable=False),
        sa.Column(
            "mode",
            sa.Enum(
                "online_view",
                "on_site",
                "certified_copy",
                "paper_loan",
                name="requestmode",
                native_enum=False,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=False),
        sa.Column("id_document", sa.String(length=60), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "submitted",
                "approved",
                "rejected",
                "closed",
                name="requeststatus",
                native_enum=False,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("approver_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["approver_id"], ["app_user.id"], name=op.f("fk_retrieval_request_approver_id_app_user")
        ),
        sa.ForeignKeyConstraint(["dossier_id"], ["dossier.id"], name=op.f("fk_retrieval_request_dossier_id_dossier")),
        sa.ForeignKeyConstraint(
            ["requester_id"], ["app_user.id"], name=op.f("fk_retrieval_request_requester_id_app_user")
        ),
        sa.ForeignKeyConstraint(
            ["requester_org_id"],
            ["organisation.id"],
            name=op.f("fk_retrieval_request_requester_org_id_organisation"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_retrieval_request")),
        sa.UniqueConstraint("number", name=op.f("uq_retrieval_request_number")),
    )
    with op.batch_alter_table("retrieval_request", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_retrieval_request_dossier_id"), ["dossier_id"], unique=False)

    op.create_table(
        "transfer_item",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("row_no", sa.Integer(), nullable=False),
        sa.Column("citizen_id", sa.String(length=18), nullable=False),
        sa.Column("retiree_name", sa.String(length=50), nullable=False),
        sa.Column("archival_code", sa.String(length=64), nullable=True),
        sa.Column("declared_volumes", sa.Integer(), nullable=False),
        sa.Column("declared_pages", sa.Integer(), nullable=False),
        sa.Column("declared_materials", sa.Integer(), nullable=False),
        sa.Column("missing_materials", sa.Text(), nullable=False),
        sa.Column("missing_certificate", sa.Boolean(), nullable=False),
        sa.Column("classified", sa.Boolean(), nullable=False),
        sa.Column("dossier_id", sa.Integer(), nullable=True),
        sa.Column(
            "result",
            sa.Enum(
                "pending",
                "accepted",
                "rejected",
                "discrepancy",
                name="itemresult",
                native_enum=False,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("checked_by_id", sa.Integer(), nullable=True),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["transfer_batch.id"], name=op.f("fk_transfer_item_batch_id_transfer_batch")
        ),
        sa.ForeignKeyConstraint(
            ["checked_by_id"], ["app_user.id"], name=op.f("fk_transfer_item_checked_by_id_app_user")
        ),
        sa.ForeignKeyConstraint(["dossier_id"], ["dossier.id"], name=op.f("fk_transfer_item_dossier_id_dossier")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transfer_item")),
        sa.UniqueConstraint("batch_id", "citizen_id", name=op.f("uq_transfer_item_batch_id_citizen_id")),
        sa.UniqueConstraint("batch_id", "row_no", name=op.f("uq_transfer_item_batch_id_row_no")),
    )
    with op.batch_alter_table("transfer_item", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_transfer_item_batch_id"), ["batch_id"], unique=False)

    op.create_table(
        "access_log_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=True),
        sa.Column("client_address", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=30), nullable=False),
        sa.Column("dossier_id", sa.Integer(), nullable=True),
        sa.Column("materials", sa.JSON(), nullable=True),
        sa.Column("pages", sa.JSON(), nullable=True),
        sa.Column("request_id", sa.Integer(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("entry_hash", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["dossier_id"], ["dossier.id"], name=op.f("fk_access_log_entry_dossier_id_dossier")),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_access_log_entry_organisation_id_organisation"),
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["retrieval_request.id"],
            name=op.f("fk_access_log_entry_request_id_retrieval_request"),
        ),
        sa.ForeignKeyConstraint(["user_id"], ["app_user.id"], name=op.f("fk_access_log_entry_user_id_app_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_log_entry")),
        sa.UniqueConstraint("entry_hash", name=op.f("uq_access_log_entry_entry_hash")),
        sa.UniqueConstraint("seq", name=op.f("uq_access_log_entry_seq")),
    )
    with op.batch_alter_table("access_log_entry", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_access_log_entry_dossier_id"), ["dossier_id"], unique=False)

    _append_only("custody_event")
    _append_only("access_log_entry")


# The custody chain and the access log are evidence: no role, not even an administrator with
# SQL access through the application, may change or remove a row.
def _append_only(table: str) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE OR REPLACE FUNCTION refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION 'table % is append-only', TG_TABLE_NAME; END $$"
        )
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION refuse_change()"
        )
    else:
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
            )


def downgrade() -> None:
    with op.batch_alter_table("access_log_entry", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_access_log_entry_dossier_id"))

    op.drop_table("access_log_entry")
    with op.batch_alter_table("transfer_item", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_transfer_item_batch_id"))

    op.drop_table("transfer_item")
    with op.batch_alter_table("retrieval_request", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_retrieval_request_dossier_id"))

    op.drop_table("retrieval_request")
    with op.batch_alter_table("material", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_material_dossier_id"))

    op.drop_table("material")
    with op.batch_alter_table("digital_object", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_digital_object_dossier_id"))

    op.drop_table("digital_object")
    with op.batch_alter_table("custody_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_custody_event_dossier_id"))

    op.drop_table("custody_event")
    with op.batch_alter_table("dossier", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dossier_custodian_id"))

    op.drop_table("dossier")
    op.drop_table("shelf_slot")
    with op.batch_alter_table("transfer_batch", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_transfer_batch_to_org_id"))

    op.drop_table("transfer_batch")
    op.drop_table("shelving_unit")
    op.drop_table("session_token")
    op.drop_table("room")
    op.drop_table("retiree")
    op.drop_table("material_class")
    op.drop_table("app_user")
    op.drop_table("organisation")
    with op.batch_alter_table("login_attempt", schema=None) as batch_op:
        batch_op.drop_index("ix_login_attempt_lookup")

    op.drop_table("login_attempt")
    op.drop_table("class_scheme")
