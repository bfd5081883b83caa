"""When a change was taken for applying: the periodic expiry closes as interrupted only a change
taken more than ``APPLYING_AT_MOST`` ago (a process died mid-way), never one being settled now,
however long after its expiry (a change of unknown outcome, settled by a Confirm or the watcher).
Rows from before have none: they are judged by their expiry, as before.

Revision ID: 0008_applying_since
Revises: 0007_home_org
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_applying_since"
down_revision = "0007_home_org"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("pending_changes",
                  sa.Column("applying_since", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("pending_changes") as batch:
        batch.drop_column("applying_since")
