"""Orgs connect and disconnect themselves: an authorization link bound to the person who asked
and their org, the org's name with its stored pair, and disconnect requests awaiting their
confirmation.

Revision ID: 0006_connect
Revises: 0005_orgs
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_connect"
down_revision = "0005_orgs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("oauth_states") as table:
        table.add_column(sa.Column("org_id", sa.String(255), nullable=True))
        table.add_column(sa.Column("requester_id", sa.String(255), nullable=True))
    with op.batch_alter_table("admin_grants") as table:
        table.add_column(sa.Column("org_name", sa.String(255), nullable=True))
    op.create_table(
        "disconnect_requests",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("org_id", sa.String(255), nullable=False, index=True),
        sa.Column("requester_id", sa.String(255), nullable=False),
        sa.Column("requester_name", sa.String(255), nullable=False),
        sa.Column("card_message_id", sa.String(255), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("disconnect_requests")
    with op.batch_alter_table("admin_grants") as table:
        table.drop_column("org_name")
    with op.batch_alter_table("oauth_states") as table:
        table.drop_column("requester_id")
        table.drop_column("org_id")
