"""Connect many orgs to a bot as its operator does: ``flask --app app admin service-app --org-id``
for each org, run in this one process (``python bench/connect_orgs.py`` with the bot's environment
and a JSON list of org ids on stdin), so that Python and the bot are loaded once instead of once per org.

Each org goes through the command's whole path: the Service App's token pair is fetched from Webex
(``POST /v1/applications/{id}/token``), vetted (who it acts as, its scopes, by their effect) and
stored sealed in ``admin_grants``. Prints one JSON line: how many were connected, the seconds each
took, and the first refusals (never a token).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the bot's app, run as a file

from app import app  # noqa: E402


def connect(org_ids: list[str]) -> dict:
    runner = app.test_cli_runner()
    seconds, refusals = [], []
    for org_id in org_ids:
        began = time.perf_counter()
        done = runner.invoke(args=["admin", "service-app", "--org-id", org_id])
        seconds.append(time.perf_counter() - began)
        if done.exit_code != 0:
            refusals.append(done.output.strip().splitlines()[-1:])
    return {"connected": len(org_ids) - len(refusals), "seconds": seconds,
            "refusals": refusals[:5]}


if __name__ == "__main__":
    print(json.dumps(connect(json.loads(sys.stdin.read()))))
