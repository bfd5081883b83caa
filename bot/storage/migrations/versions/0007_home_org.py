"""The home org, once learned from the only stored authorization, is kept: another org's pair,
left alone when the home org is disconnected, never becomes it (``NOTIFY_ROOM_IDS`` are the
home org's). Nothing is filled in here: the bot learns it as before, the first time it needs it.

Revision ID: 0007_home_org
Revises: 0006_connect
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_home_org"
down_revision = "0006_connect"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "home_org",
        sa.Column("name", sa.String(16), primary_key=True),
        sa.Column("org_id", sa.String(255), nullable=False),
        sa.Column("learned_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("home_org")
