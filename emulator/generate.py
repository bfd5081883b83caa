"""``--orgs N``: N more orgs added to a seed, cheaply enough for a benchmark of a thousand orgs.

Each generated org ``org0001``... gets what a customer that connected the bot has: a Full
Administrator (``admin0001``, with a user token ``admin0001-token`` and an Integration token
``admin0001-admin-token`` holding the bot's admin scopes), the seed's voicemail rules (its own
copy), a 1:1 space with the bot (``dm-admin0001``), and every seeded Service App authorized.
They are added to the seed itself, so ``POST /_emulator/reset`` brings them back as they were.
Ids come from the seed keys like every seeded id (``ids.seeded_id``).
"""

from __future__ import annotations

import copy

MAX_GENERATED_ORGS = 100_000
ADMIN_SCOPES = ["spark:all", "spark-admin:people_read", "spark-admin:roles_read",
                "spark-admin:telephony_config_read", "spark-admin:telephony_config_write",
                "spark-admin:audit_events_read"]


def with_generated_orgs(seed: dict, count: int, *, bot_key: str = "bot") -> dict:
    """A copy of ``seed`` with ``count`` generated orgs; ``seed`` is left as it was."""
    if not 0 <= count <= MAX_GENERATED_ORGS:
        raise ValueError(f"--orgs must be between 0 and {MAX_GENERATED_ORGS}, not {count}")
    grown = copy.deepcopy(seed)
    width = max(4, len(str(count)))
    for number in range(1, count + 1):
        _add_org(grown, str(number).zfill(width), bot_key)
    generated = [org["key"] for org in grown["orgs"] if org.get("generated")]
    for app in grown.get("serviceApps", []):
        app["authorizedOrgs"] = list(app.get("authorizedOrgs", [])) + generated
    return grown


def _add_org(seed: dict, number: str, bot_key: str) -> None:
    org, admin = f"org{number}", f"admin{number}"
    seed["orgs"].append({"key": org, "displayName": f"Generated Org {number}", "generated": True})
    seed["people"].append({
        "key": admin, "org": org, "displayName": f"Admin {number}", "firstName": "Admin",
        "lastName": number, "email": f"admin@{org}.example", "type": "person",
        "roles": ["id_full_admin"], "persona": f"Full Administrator of Generated Org {number}"})
    seed["tokens"].append({"token": f"{admin}-token", "person": admin, "kind": "user",
                           "scopes": ["spark:all"]})
    seed["tokens"].append({"token": f"{admin}-admin-token", "person": admin,
                           "kind": "integration", "scopes": ADMIN_SCOPES})
    seed["rooms"].append({"key": f"dm-{admin}", "type": "direct", "members": [admin, bot_key]})
