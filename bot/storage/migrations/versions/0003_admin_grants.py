"""The admin token pair the bot gets itself, and authorizations under way.

Revision ID: 0003_admin_grants
Revises: 0002_change_flow
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_admin_grants"
down_revision = "0002_change_flow"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "admin_grants",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("client_id", sa.String(255), nullable=False),
        sa.Column("access_ciphertext", sa.Text(), nullable=False),
        sa.Column("refresh_ciphertext", sa.Text(), nullable=False),
        sa.Column("access_expires_at", TZ, nullable=False),
        sa.Column("access_lifetime_seconds", sa.Integer(), nullable=False),
        sa.Column("refresh_expires_at", TZ),
        sa.Column("owner_id", sa.String(255), nullable=False),
        sa.Column("owner_name", sa.String(255), nullable=False),
        sa.Column("org_id", sa.String(255), nullable=False),
        sa.Column("scopes", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("authorized_at", TZ, nullable=False),
        sa.Column("refreshed_at", TZ),
        sa.Column("problem", sa.Text()),
        sa.Column("announced_problem", sa.Text()),
    )
    op.create_table(
        "oauth_states",
        sa.Column("state_hash", sa.String(64), primary_key=True),
        sa.Column("verifier_ciphertext", sa.Text(), nullable=False),
        sa.Column("scopes", sa.Text(), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("expires_at", TZ, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("oauth_states")
    op.drop_table("admin_grants")
