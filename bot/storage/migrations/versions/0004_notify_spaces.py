"""Notification spaces chosen in Webex (``notify here``).

Revision ID: 0004_notify_spaces
Revises: 0003_admin_grants
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_notify_spaces"
down_revision = "0003_admin_grants"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notify_spaces",
        sa.Column("room_id", sa.String(255), primary_key=True),
        sa.Column("title", sa.String(255), nullable=False),
        sa.Column("added_by_id", sa.String(255), nullable=False),
        sa.Column("added_by_name", sa.String(255), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("notify_spaces")
