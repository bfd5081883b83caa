"""Pending changes, the audit log, subscriptions, rules snapshots and stored secrets.

Revision ID: 0002_change_flow
Revises: 0001_inbox
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_change_flow"
down_revision = "0001_inbox"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "pending_changes",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("requester_id", sa.String(255), nullable=False),
        sa.Column("requester_name", sa.String(255), nullable=False),
        sa.Column("room_id", sa.String(255), nullable=False),
        sa.Column("room_type", sa.String(16), nullable=False),
        sa.Column("thread_id", sa.String(255)),
        sa.Column("card_message_id", sa.String(255)),
        sa.Column("before", sa.Text(), nullable=False),
        sa.Column("patch", sa.Text(), nullable=False),
        sa.Column("pin_ciphertext", sa.Text()),
        sa.Column("pin_generated", sa.Boolean(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("expires_at", TZ, nullable=False),
        sa.Column("resolved_at", TZ),
    )
    op.create_index("ix_pending_changes_status", "pending_changes", ["status"])
    op.create_table(
        "audit_entries",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("change_id", sa.String(64), nullable=False, unique=True),
        sa.Column("actor_id", sa.String(255), nullable=False),
        sa.Column("actor_name", sa.String(255), nullable=False),
        sa.Column("actor_email", sa.String(255), nullable=False),
        sa.Column("room_id", sa.String(255), nullable=False),
        sa.Column("room_type", sa.String(16), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("changes", sa.Text(), nullable=False),
        sa.Column("before", sa.Text(), nullable=False),
        sa.Column("after", sa.Text(), nullable=False),
        sa.Column("applied_at", TZ, nullable=False),
    )
    op.create_index("ix_audit_entries_applied_at", "audit_entries", ["applied_at"])
    op.create_table(
        "subscriptions",
        sa.Column("person_id", sa.String(255), primary_key=True),
        sa.Column("display_name", sa.String(255), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
    )
    op.create_table(
        "rules_snapshots",
        sa.Column("org_id", sa.String(255), primary_key=True),
        sa.Column("rules", sa.Text(), nullable=False),
        sa.Column("seen_at", TZ, nullable=False),
    )
    op.create_table(
        "stored_secrets",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("ciphertext", sa.Text(), nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
    )


def downgrade() -> None:
    for table in ("stored_secrets", "rules_snapshots", "subscriptions", "audit_entries",
                  "pending_changes"):
        op.drop_table(table)
