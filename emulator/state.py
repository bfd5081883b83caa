"""The emulator's whole world, held in memory and guarded by one lock.

Everything the API serves lives here as plain dicts shaped like Webex's JSON answers, so handlers
only filter and copy. ``State.from_seed`` builds it from a seed file (see ``seed.json``).
"""

from __future__ import annotations

import copy
import json
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from flask import current_app

from .ids import now_iso, seeded_id, webex_id
from .oauth_state import OAuthState

DEFAULT_SEED = Path(__file__).with_name("seed.json")
DEFAULT_CALL_LOG_SIZE = 2000  # the call log keeps the latest calls only
STATE_KEY = "EMULATOR_STATE"  # where create_app keeps the State in the Flask app's config


@dataclass
class Grant:
    """What one access token stands for: a person, the kind of token and its scopes."""

    token: str
    person_id: str
    kind: str  # "bot", "integration" (admin), "user"
    scopes: list[str]
    refresh_token: str | None = None
    client_id: str | None = None
    client_secret: str | None = None
    expires_in: int = 1209600
    expired: bool = False  # an expired access token answers 401; its refresh token still works
    expires_at: float | None = None  # time.time() after which it answers 401 (issued tokens)

    def is_expired(self) -> bool:
        return self.expired or (self.expires_at is not None and time.time() >= self.expires_at)

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes


@dataclass
class State:
    """All emulated Webex data. Take ``lock`` around any read-modify-write."""

    seed: dict
    lock: threading.RLock = field(default_factory=threading.RLock)
    orgs: dict[str, dict] = field(default_factory=dict)
    org_keys: dict[str, str] = field(default_factory=dict)  # org id -> seed key
    generated_orgs: set[str] = field(default_factory=set)  # ids of the orgs made by --orgs
    managed_org_id: str = ""
    roles: dict[str, dict] = field(default_factory=dict)
    people: dict[str, dict] = field(default_factory=dict)  # id -> person JSON incl. private "roles"
    grants: dict[str, Grant] = field(default_factory=dict)  # token -> grant
    rooms: dict[str, dict] = field(default_factory=dict)
    memberships: dict[str, dict] = field(default_factory=dict)
    members_of_room: dict[str, list[str]] = field(default_factory=dict)  # room id -> person ids
    rooms_of_person: dict[str, list[str]] = field(default_factory=dict)  # person id -> room ids
    messages: dict[str, dict] = field(default_factory=dict)  # insertion order = time order
    message_edits: Counter = field(default_factory=Counter)
    attachment_actions: dict[str, dict] = field(default_factory=dict)
    webhooks: dict[str, dict] = field(default_factory=dict)  # id -> webhook JSON incl. secret
    webhook_failures: dict[str, list[float]] = field(default_factory=dict)  # id -> failure times
    deliveries: list[dict] = field(default_factory=list)
    voicemail_rules: dict[str, dict] = field(default_factory=dict)  # org id -> rules JSON
    default_pins: dict[str, str | None] = field(default_factory=dict)  # org id -> PIN (never served)
    audit_events: list[dict] = field(default_factory=list)
    calls: Counter = field(default_factory=Counter)  # "GET /v1/people/{personId}" -> count
    call_log: list[dict] = field(default_factory=list)
    # Calls to /v1 being answered now, and the most at once since the last DELETE /_emulator/calls
    in_flight: Counter = field(default_factory=Counter)  # endpoint -> calls being answered
    peak: Counter = field(default_factory=Counter)  # endpoint -> most at once ("*": all)
    faults: list[dict] = field(default_factory=list)
    spent_faults: list[dict] = field(default_factory=list)  # counted faults used up, newest last
    keys: dict[str, str] = field(default_factory=dict)  # seed key -> id, for tests and the demo
    oauth: OAuthState = field(default_factory=OAuthState)  # Integrations, Service Apps, codes

    @property
    def call_log_size(self) -> int:
        """How many calls the log keeps (the seed's ``callLogSize``, ``--call-log-size``)."""
        return int(self.seed.get("callLogSize") or DEFAULT_CALL_LOG_SIZE)

    @classmethod
    def from_seed(cls, seed: dict) -> State:
        state = cls(seed=copy.deepcopy(seed))
        state._load()
        return state

    @classmethod
    def from_file(cls, path: str | Path | None = None) -> State:
        with open(path or DEFAULT_SEED, encoding="utf-8") as handle:
            return cls.from_seed(json.load(handle))

    def reset(self, *, keep_webhooks: bool = False) -> None:
        """Back to the seed: every message, webhook, fault and counter is forgotten.

        ``keep_webhooks`` keeps the registered webhooks (active again, failures forgotten), so a
        running bot keeps receiving events, as the local space's reset button wants.
        """
        with self.lock:
            webhooks = self.webhooks
            fresh = State.from_seed(self.seed)
            for name in self.__dataclass_fields__:
                if name != "lock":
                    setattr(self, name, getattr(fresh, name))
            if keep_webhooks:
                self.webhooks = {hook_id: dict(hook, status="active")
                                 for hook_id, hook in webhooks.items()}

    def _load(self) -> None:
        seed = self.seed
        created = "2024-01-15T09:30:00.000Z"
        for org in seed["orgs"]:
            self._add_org(org, created)
        self.managed_org_id = self.keys[seed.get("managedOrg", seed["orgs"][0]["key"])]
        for role in seed["roles"]:
            role_id = seeded_id_for_role(role["key"])
            self.keys[role["key"]] = role_id
            self.roles[role_id] = {"id": role_id, "name": role["name"]}
        for person in seed["people"]:
            self._add_person(person, created)
        for grant in seed["tokens"]:
            self.grants[grant["token"]] = Grant(
                token=grant["token"],
                person_id=self.keys[grant["person"]],
                kind=grant["kind"],
                scopes=list(grant["scopes"]),
                refresh_token=grant.get("refreshToken"),
                client_id=grant.get("clientId"),
                client_secret=grant.get("clientSecret"),
                expires_in=grant.get("expiresIn", 1209600),
            )
        for room in seed["rooms"]:
            self._add_room(room, created)
        self.oauth = OAuthState.from_seed(seed, self.keys)

    def _add_org(self, org: dict, created: str) -> None:
        """An org with its own voicemail rules: the seed's, with the org's ``voicemailRules``
        sections over them, and its own default PIN."""
        org_id = seeded_id("ORGANIZATION", org["key"])
        self.keys[org["key"]] = org_id
        self.org_keys[org_id] = org["key"]
        if org.get("generated"):
            self.generated_orgs.add(org_id)
        self.orgs[org_id] = {"id": org_id, "displayName": org["displayName"], "created": created}
        self.voicemail_rules[org_id] = _org_rules(self.seed["voicemailRules"],
                                                  org.get("voicemailRules", {}))
        self.default_pins[org_id] = org.get("defaultVoicemailPin",
                                            self.seed.get("defaultVoicemailPin"))

    def _add_person(self, person: dict, created: str) -> None:
        person_id = seeded_id("PEOPLE", person["key"])
        self.keys[person["key"]] = person_id
        names = {k: person[k] for k in ("firstName", "lastName") if person.get(k)}
        self.people[person_id] = {
            "id": person_id,
            "emails": [person["email"]],
            "displayName": person["displayName"],
            "nickName": person.get("firstName", person["displayName"]),
            **names,  # Webex leaves out the names it does not have (bots have none)
            "orgId": self.keys[person["org"]],
            "roles": [self.keys[key] for key in person.get("roles", [])],
            "created": created,
            "status": "active",
            "type": person.get("type", "person"),
            "_persona": person.get("persona", ""),
            "_key": person["key"],
        }

    def _add_room(self, room: dict, created: str) -> None:
        room_id = seeded_id("ROOM", room["key"])
        self.keys[room["key"]] = room_id
        members = [self.keys[key] for key in room["members"]]
        creator = members[0]
        if room["type"] == "direct":
            other = self.people[members[0]]
            title = other["displayName"]
        else:
            title = room["title"]
        self.rooms[room_id] = {
            "id": room_id,
            "title": title,
            "type": room["type"],
            "isLocked": False,
            "lastActivity": created,
            "creatorId": creator,
            "created": created,
            "ownerId": self.people[creator]["orgId"],
            "isPublic": False,
            "isReadOnly": False,
        }
        for person_id in members:
            self.add_membership(room_id, person_id, created)

    def add_membership(self, room_id: str, person_id: str, created: str | None = None) -> dict:
        """Make ``person_id`` a member of ``room_id`` (idempotent) and return the membership."""
        membership_id = membership_id_of(room_id, person_id)
        if membership_id in self.memberships:
            return self.memberships[membership_id]
        person = self.people[person_id]
        membership = {
            "id": membership_id,
            "roomId": room_id,
            "personId": person_id,
            "personEmail": person["emails"][0],
            "personDisplayName": person["displayName"],
            "personOrgId": person["orgId"],
            "isModerator": False,
            "isMonitor": False,
            "isRoomHidden": False,
            "roomType": self.rooms[room_id]["type"],
            "created": created or now_iso(),
        }
        self.memberships[membership_id] = membership
        self.members_of_room.setdefault(room_id, []).append(person_id)
        self.rooms_of_person.setdefault(person_id, []).append(room_id)
        return membership

    def rename(self, person_id: str, display_name: str) -> dict:
        """A person renamed (in Control Hub, or by themselves): every later answer carries the new
        name, memberships and the titles of their direct rooms included; messages already sent
        keep what they said."""
        person = self.people[person_id]
        old = person["displayName"]
        person["displayName"] = display_name
        for membership in self.memberships.values():
            if membership["personId"] == person_id:
                membership["personDisplayName"] = display_name
        for room_id in self.person_rooms(person_id):
            room = self.rooms[room_id]
            if room["type"] == "direct" and room["title"] == old:
                room["title"] = display_name
        return person

    # Looked up through indexes kept by add_membership (the only way a membership is made), so a
    # world of a thousand orgs answers as fast as the seed's.
    def is_member(self, room_id: str, person_id: str) -> bool:
        return membership_id_of(room_id, person_id) in self.memberships

    def room_members(self, room_id: str) -> list[str]:
        return list(self.members_of_room.get(room_id, ()))

    def person_rooms(self, person_id: str) -> list[str]:
        return list(self.rooms_of_person.get(person_id, ()))

    def person_by_email(self, email: str) -> dict | None:
        email = email.lower()
        for person in self.people.values():
            if email in (e.lower() for e in person["emails"]):
                return person
        return None


def membership_id_of(room_id: str, person_id: str) -> str:
    """A membership's id follows from its room and person, so "is a member" is one lookup."""
    return seeded_id("MEMBERSHIP", f"{room_id}:{person_id}")


def _org_rules(defaults: dict, overrides: dict) -> dict:
    """An org's voicemail rules: the seed's ``voicemailRules`` with the org's own sections over
    them (a section given replaces the seed's section, key by key)."""
    rules = copy.deepcopy(defaults)
    for section, value in overrides.items():
        if isinstance(value, dict):
            rules.setdefault(section, {}).update(copy.deepcopy(value))
        else:
            rules[section] = value
    return rules


def app_state() -> State:
    """The state of the emulator app serving the current request (or app context)."""
    return current_app.config[STATE_KEY]


def seeded_id_for_role(key: str) -> str:
    """Role ids are base64 of ``ciscospark://us/ROLE/<key>`` (not a uuid), as Webex's are."""
    return webex_id("ROLE", key)


def public_person(person: dict, *, with_roles: bool) -> dict:
    """A person as the API shows it: private fields dropped, ``roles`` only in the admin view."""
    shown = {k: v for k, v in person.items() if not k.startswith("_")}
    if not with_roles:
        shown.pop("roles", None)
    return shown
