"""Every org on its own: pending changes, the audit log, subscriptions and notification spaces
carry their org; the stored admin authorization is kept per org.

The rows of a single-org deployment are filled in with the org the database itself knows: the
org of the stored authorization (``admin authorize`` / ``admin service-app``) when there is one,
else the org of the change watcher's one snapshot. Otherwise they are left unassigned (``''``)
and the bot gives them to its org at its first start (``bot.storage.tenancy``): ``WEBEX_ORG_ID``,
or the org Webex names for ``WEBEX_ADMIN_TOKEN``. No row is ever guessed into an org.

Revision ID: 0005_orgs
Revises: 0004_notify_spaces
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_orgs"
down_revision = "0004_notify_spaces"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)
ORG = sa.String(255)


def upgrade() -> None:
    org_id = _known_org()
    for table in ("pending_changes", "audit_entries"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("org_id", ORG, nullable=False, server_default=""))
        op.create_index(f"ix_{table}_org_id", table, ["org_id"])
    for table, key, columns in KEPT:
        _rebuild(table, [sa.Column("org_id", ORG, nullable=False), *columns(),
                         sa.PrimaryKeyConstraint("org_id", key, name=f"pk_{table}_org")],
                 "'' AS org_id, ")
    if org_id:
        for table in ("pending_changes", "audit_entries", "subscriptions", "notify_spaces"):
            op.execute(sa.text(f"UPDATE {table} SET org_id = :org WHERE org_id = ''")
                       .bindparams(org=org_id))
    # One authorization per org from now on, named by its org (it was the one row "admin").
    with op.batch_alter_table("admin_grants") as batch:
        batch.alter_column("name", type_=ORG, existing_type=sa.String(64), existing_nullable=False)
    op.execute(sa.text("UPDATE admin_grants SET name = org_id WHERE name = 'admin'"))


def _subscription_columns() -> list[sa.Column]:
    return [sa.Column("person_id", sa.String(255), nullable=False),
            sa.Column("display_name", sa.String(255), nullable=False),
            sa.Column("created_at", TZ, nullable=False)]


def _notify_space_columns() -> list[sa.Column]:
    return [sa.Column("room_id", sa.String(255), nullable=False),
            sa.Column("title", sa.String(255), nullable=False),
            sa.Column("added_by_id", sa.String(255), nullable=False),
            sa.Column("added_by_name", sa.String(255), nullable=False),
            sa.Column("added_at", TZ, nullable=False)]


# The tables whose primary key gains the org: (table, the old key, its other columns).
KEPT = (("subscriptions", "person_id", _subscription_columns),
        ("notify_spaces", "room_id", _notify_space_columns))


def _known_org() -> str | None:
    """The org this database already belongs to, if it says so itself."""
    connection = op.get_bind()
    grants = connection.execute(sa.text("SELECT org_id FROM admin_grants")).scalars().all()
    if len(grants) == 1:
        return grants[0]
    snapshots = connection.execute(sa.text("SELECT org_id FROM rules_snapshots")).scalars().all()
    return snapshots[0] if len(snapshots) == 1 else None


def _rebuild(table: str, shape: list, org: str) -> None:
    """Recreate ``table`` in ``shape`` (SQLite cannot change a primary key), keeping its rows;
    ``org`` selects the org column first (or nothing, going back)."""
    names = [c.name for c in shape if isinstance(c, sa.Column) and c.name != "org_id"]
    into = ("org_id, " if org else "") + ", ".join(names)
    op.create_table(f"{table}_new", *shape)
    op.execute(f"INSERT INTO {table}_new ({into}) SELECT {org}{', '.join(names)} FROM {table}")
    op.drop_table(table)
    op.rename_table(f"{table}_new", table)


def downgrade() -> None:
    """Back to one org: the rows of the org the authorization belongs to (or of any one org)."""
    op.execute(sa.text("UPDATE admin_grants SET name = 'admin' WHERE name = "
                       "(SELECT MIN(name) FROM admin_grants)"))
    op.execute(sa.text("DELETE FROM admin_grants WHERE name <> 'admin'"))
    for table, key, columns in KEPT:
        op.execute(f"DELETE FROM {table} WHERE org_id <> (SELECT MIN(org_id) FROM {table})")
        _rebuild(table, [*columns(), sa.PrimaryKeyConstraint(key, name=f"pk_{table}")], "")
    for table in ("pending_changes", "audit_entries"):
        op.drop_index(f"ix_{table}_org_id", table)
        with op.batch_alter_table(table) as batch:
            batch.drop_column("org_id")
