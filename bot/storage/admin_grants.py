"""The admin token pair the bot got itself, and the authorizations under way (``admin authorize``).

Tokens and PKCE verifiers are sealed with the secret box; a state is kept only as its SHA-256, and
is taken once (deleted as it is read) and only before it expires. Each org has its own pair
(the row is named by the org's id). A pair is replaced only by
whoever read the version it replaces (``replace_if``), so two processes refreshing at once cannot
both store a pair (with a rotating refresh token, the loser's would be dead).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from bot.storage.models import AdminGrant, OAuthState
from bot.storage.secret_box import SecretBox
from bot.storage.store import Store, rows_matched

STATE_LIFETIME = timedelta(minutes=15)


class OrgForgotten(Exception):
    """The org was disconnected (its stored pair and everything kept of it forgotten) while
    something begun before was about to keep news of it: the news is not kept."""


@contextmanager
def while_granted(session: Session, org_id: str, *, enabled: bool = True) -> Iterator[None]:
    """Around the writes of a transaction that keeps news of ``org_id``: raise ``OrgForgotten``
    (the transaction rolls back) unless its stored pair is there, held until the transaction
    ends. A disconnect (``forget_org``) deletes the pair first, then the org's rows, so:

    - PostgreSQL: the pair is held (``FOR SHARE``) *before* the writes, in the disconnect's
      order (a lock taken after a row of the org would deadlock with it): a disconnect waits for
      this transaction and then deletes what it wrote, or this one waits for the disconnect and
      finds the pair gone.
    - SQLite: the pair is looked at *after* the first write, which holds the whole database
      until the end (a look before it could see a pair that a disconnect deletes before the
      write; SQLite would then refuse the write of a stale snapshot rather than wait).
    """
    postgres = session.get_bind().dialect.name == "postgresql"
    if enabled and postgres:
        _hold(session, org_id)
    yield
    if enabled and not postgres:
        session.flush()
        _hold(session, org_id)


def _hold(session: Session, org_id: str) -> None:
    held = session.scalar(select(AdminGrant.name).where(AdminGrant.name == org_id)
                          .with_for_update(read=True))
    if held is None:
        raise OrgForgotten(org_id)


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    access_expires_at: datetime
    access_lifetime_seconds: int
    refresh_expires_at: datetime | None


@dataclass(frozen=True)
class Grant:
    """The stored pair, opened, with what is known of it."""

    kind: str
    client_id: str
    pair: TokenPair
    owner_id: str
    owner_name: str
    org_id: str
    scopes: tuple[str, ...]
    version: int
    authorized_at: datetime
    refreshed_at: datetime | None
    problem: str | None
    announced_problem: str | None
    org_name: str | None = None  # as Webex named the org when it was connected


@dataclass(frozen=True)
class GrantState:
    """What is stored in clear about an org's pair: enough to tell whether it needs a look
    (a refresh due, a problem to tell) without opening the sealed tokens."""

    org_id: str
    kind: str
    access_expires_at: datetime
    access_lifetime_seconds: int
    refresh_expires_at: datetime | None
    problem: str | None
    announced_problem: str | None


@dataclass(frozen=True)
class PendingAuthorization:
    verifier: str
    scopes: tuple[str, ...]
    # Asked for by `connect` in the chat: only a Full Administrator of this org may complete it,
    # and this person is told the outcome (None: started by the operator's `admin authorize`).
    org_id: str | None = None
    requester_id: str | None = None


def state_hash(state: str) -> str:
    return hashlib.sha256(state.encode()).hexdigest()


class AdminGrants:
    def __init__(self, store: Store, box: SecretBox):
        self._store = store
        self._box = box

    # --- the pair -------------------------------------------------------------------------------

    def orgs(self) -> list[str]:
        """The orgs with a stored pair, first authorized first."""
        with self._store.session() as session:
            return list(session.scalars(select(AdminGrant.name).order_by(AdminGrant.authorized_at)))

    def states(self) -> list[GrantState]:
        """Every org's pair as stored in clear, first authorized first: one query, none opened."""
        columns = (AdminGrant.name, AdminGrant.kind, AdminGrant.access_expires_at,
                   AdminGrant.access_lifetime_seconds, AdminGrant.refresh_expires_at,
                   AdminGrant.problem, AdminGrant.announced_problem)
        with self._store.session() as session:
            rows = session.execute(select(*columns).order_by(AdminGrant.authorized_at)).all()
        return [GrantState(*row) for row in rows]

    def every(self) -> list[Grant]:
        """Every org's stored pair that can be opened, first authorized first."""
        return [grant for grant in map(self.get, self.orgs()) if grant is not None]

    def has(self, org_id: str) -> bool:
        """Whether ``org_id`` has a stored pair (one primary-key read)."""
        with self._store.session() as session:
            return session.get(AdminGrant, org_id) is not None

    def get(self, org_id: str | None = None) -> Grant | None:
        """``org_id``'s stored pair (without: the org authorized first, what a single-org
        deployment has), or None (none yet, or sealed with a key no longer configured)."""
        with self._store.session() as session:
            row = session.get(AdminGrant, org_id) if org_id is not None else session.scalars(
                select(AdminGrant).order_by(AdminGrant.authorized_at).limit(1)).first()
            if row is None:
                return None
            access, refresh = self._box.open(row.access_ciphertext), self._box.open(row.refresh_ciphertext)
            if access is None or refresh is None:
                return None
            access_expires_at = row.access_expires_at
            authorized_at = row.authorized_at
            assert access_expires_at is not None and authorized_at is not None
            return Grant(kind=row.kind, client_id=row.client_id,
                         pair=TokenPair(access, refresh, access_expires_at,
                                        row.access_lifetime_seconds, row.refresh_expires_at),
                         owner_id=row.owner_id, owner_name=row.owner_name, org_id=row.org_id,
                         scopes=tuple(row.scopes.split()), version=row.version,
                         authorized_at=authorized_at, refreshed_at=row.refreshed_at,
                         problem=row.problem, announced_problem=row.announced_problem,
                         org_name=row.org_name)

    def save(self, *, kind: str, client_id: str, pair: TokenPair, owner_id: str, owner_name: str,
             org_id: str, scopes: tuple[str, ...], org_name: str | None = None) -> None:
        """A new authorization of ``org_id``: replaces whatever pair that org had."""
        with self._store.session() as session, session.begin():
            row = session.get(AdminGrant, org_id)
            version = row.version + 1 if row is not None else 1
            session.merge(AdminGrant(
                name=org_id, kind=kind, client_id=client_id,
                access_ciphertext=self._box.seal(pair.access_token),
                refresh_ciphertext=self._box.seal(pair.refresh_token),
                access_expires_at=pair.access_expires_at,
                access_lifetime_seconds=pair.access_lifetime_seconds,
                refresh_expires_at=pair.refresh_expires_at, owner_id=owner_id,
                owner_name=owner_name, org_id=org_id, scopes=" ".join(scopes), version=version,
                authorized_at=datetime.now(UTC), refreshed_at=None, problem=None,
                announced_problem=None, org_name=org_name))

    def replace_if(self, org_id: str, version: int, pair: TokenPair) -> bool:
        """Store ``org_id``'s refreshed pair if the stored one is still ``version``; False
        otherwise."""
        with self._store.session() as session, session.begin():
            return rows_matched(session, update(AdminGrant).where(
                AdminGrant.name == org_id, AdminGrant.version == version).values(
                access_ciphertext=self._box.seal(pair.access_token),
                refresh_ciphertext=self._box.seal(pair.refresh_token),
                access_expires_at=pair.access_expires_at,
                access_lifetime_seconds=pair.access_lifetime_seconds,
                refresh_expires_at=pair.refresh_expires_at, version=version + 1,
                refreshed_at=datetime.now(UTC), problem=None)) == 1

    def set_problem(self, org_id: str, problem: str | None) -> None:
        with self._store.session() as session, session.begin():
            session.execute(update(AdminGrant).where(AdminGrant.name == org_id)
                            .values(problem=problem))

    def mark_announced(self, org_id: str, problem: str | None) -> bool:
        """Record ``problem`` as told to the notification spaces; False if it already was (by
        another process): then it is not told again."""
        with self._store.session() as session, session.begin():
            row = session.get(AdminGrant, org_id, with_for_update=True)
            if row is None or row.announced_problem == problem:
                return False
            row.announced_problem = problem
            return True

    # --- authorizations under way -----------------------------------------------------------------

    def begin(self, state: str, verifier: str, scopes: tuple[str, ...], *,
              org_id: str | None = None, requester_id: str | None = None) -> datetime:
        """Remember an authorization's state and verifier (and, for `connect`, the org and the
        person it is for); when it expires."""
        now = datetime.now(UTC)
        with self._store.session() as session, session.begin():
            session.execute(delete(OAuthState).where(OAuthState.expires_at < now))
            session.add(OAuthState(state_hash=state_hash(state),
                                   verifier_ciphertext=self._box.seal(verifier),
                                   scopes=" ".join(scopes), created_at=now,
                                   expires_at=now + STATE_LIFETIME, org_id=org_id,
                                   requester_id=requester_id))
        return now + STATE_LIFETIME

    def take(self, state: str) -> PendingAuthorization | None:
        """The authorization ``state`` belongs to, once: None if unknown, used or expired."""
        now = datetime.now(UTC)
        with self._store.session() as session, session.begin():
            row = session.get(OAuthState, state_hash(state))
            if row is None:
                return None
            verifier, scopes, expires_at = row.verifier_ciphertext, row.scopes, row.expires_at
            org_id, requester_id = row.org_id, row.requester_id
            taken = rows_matched(session, delete(OAuthState).where(
                OAuthState.state_hash == state_hash(state)))
        if taken != 1 or expires_at is None or expires_at < now:
            return None
        opened = self._box.open(verifier)
        return PendingAuthorization(opened, tuple(scopes.split()), org_id,
                                    requester_id) if opened else None
