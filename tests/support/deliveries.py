"""Acting as Webex toward the bot: messages posted in the emulator, their webhook events signed
here and delivered straight to a bot instance (so a test controls duplicates and timing)."""

from __future__ import annotations

import requests

from tests.support.factories import envelope, signed


def say(emulator, text: str, key: str = "alice", room: str = "dm-alice") -> dict:
    response = requests.post(f"{emulator.base_url}messages", timeout=10,
                             headers={"Authorization": f"Bearer {key}-token"},
                             json={"roomId": emulator.id(room), "text": text})
    response.raise_for_status()
    return response.json()


def event_for(emulator, message: dict) -> tuple[bytes, dict]:
    body = envelope("messages", "created", data_id=message["id"], roomId=message["roomId"],
                    personId=message["personId"], roomType="direct")
    body["actorId"] = message["personId"]
    return signed(body)


def deliver(url: str, raw: bytes, headers: dict) -> int:
    return requests.post(f"{url}/webhooks/webex", data=raw, headers=headers, timeout=30).status_code
