"""``make demo``: the local Webex emulator and the bot under gunicorn, wired together.

Starts ``python -m emulator``, then registers the bot's webhooks against it with the operator
command (``flask --app app webhooks sync``), then starts ``gunicorn app:app`` with the checked-in
config, prints where to look (first of all the local space page, the emulator's ``/``), and keeps
both running until Ctrl-C. The emulator starts from its seed, so the bot starts from a fresh
database too.

``--connect`` (``make demo CONNECT=1``) tries the way a real org is connected: the bot starts with
the emulated Integration's client id and secret and no admin token, the demo runs the operator
command ``flask --app app admin authorize`` and prints the link it gives; opening it shows the
emulator's consent page (as Webex's ``/v1/authorize``), where a Full Administrator allows the
access and the browser comes back to the bot's ``/oauth/callback``.

The bot's settings are written to ``instance/demo.env`` while the demo runs, so that the operator
commands work against it: ``.venv/bin/flask -e instance/demo.env --app app orgs list``.
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # run as a file (make demo): devtools is beside scripts/

from devtools.processes import (  # noqa: E402
    BIN,
    Process,
    ProcessFailed,
    emulator_command,
    gunicorn_command,
    port_in_use,
    start,
)

EMULATOR_PORT = int(os.environ.get("EMULATOR_PORT", "8900"))
BOT_PORT = int(os.environ.get("BOT_PORT", "8000"))
EMULATOR = f"http://127.0.0.1:{EMULATOR_PORT}"
BOT = f"http://127.0.0.1:{BOT_PORT}"
# The bot's settings in this demo, for the operator commands: flask -e instance/demo.env --app app
SETTINGS_FILE = REPO / "instance" / "demo.env"


def bot_environment(directory: dict, admin: dict[str, str]) -> dict[str, str]:
    from cryptography.fernet import Fernet

    instance = REPO / "instance"
    instance.mkdir(exist_ok=True)
    for stale in instance.glob("demo.sqlite3*"):  # the emulator starts from its seed, so the bot
        stale.unlink()                          # starts from an empty database
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WEBEX_", "BOT_", "PUBLIC_"))}
    settings = {
        "WEBEX_BOT_TOKEN": "bot-token",
        **admin,
        "WEBEX_WEBHOOK_SECRET": secrets.token_urlsafe(24),
        "WEBEX_BASE_URL": f"{EMULATOR}/v1/",
        "PUBLIC_URL": f"{BOT}/",
        "DATABASE_URL": f"sqlite:///{instance / 'demo.sqlite3'}",
        "BOT_SECRET_KEY": Fernet.generate_key().decode(),
        "NOTIFY_ROOM_IDS": directory["ids"]["notify"],
        "WATCH_INTERVAL_SECONDS": "30",
    }
    # Throwaway values of this demo alone (the emulator's tokens, a fresh key), gone at its end.
    SETTINGS_FILE.write_text("".join(f"{name}={value}\n" for name, value in settings.items()))
    return env | settings


def admin_access(connect: bool) -> dict[str, str]:
    """The seeded admin token (acme, the home org) and the emulated Service App, with which
    the other orgs connect themselves (`connect`); or (``--connect``) the emulated Integration's
    client with no token. Their seed values, as ``GET /_emulator/...`` lists them."""
    if not connect:
        [app] = requests.get(f"{EMULATOR}/_emulator/serviceApps", timeout=5).json()["items"]
        return {"WEBEX_ADMIN_TOKEN": "admin-token", "WEBEX_ADMIN_CLIENT_ID": app["clientId"],
                "WEBEX_ADMIN_CLIENT_SECRET": app["clientSecret"],
                "WEBEX_SERVICE_APP_ID": app["id"],
                # The seed's developer token, with spark:applications_token.
                "WEBEX_APPLICATIONS_TOKEN": "developer-token"}
    [integration] = requests.get(f"{EMULATOR}/_emulator/integrations", timeout=5).json()["items"]
    return {"WEBEX_ADMIN_CLIENT_ID": integration["clientId"],
            "WEBEX_ADMIN_CLIENT_SECRET": integration["clientSecret"]}


def authorization_url(env: dict[str, str]) -> str:
    """What ``flask --app app admin authorize`` prints on a line of its own: the link."""
    done = subprocess.run([str(BIN / "flask"), "--app", "app", "admin", "authorize"], cwd=REPO,
                          env=env, check=True, capture_output=True, text=True)
    [url] = [line for line in done.stdout.splitlines() if line.startswith("http")]
    return url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--connect", action="store_true",
                        help="start the bot with no admin token and print the link to the "
                             "consent page that connects the emulated org")
    connect = parser.parse_args().connect
    children: list[Process] = []
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # runs the finally below
    try:
        run(children, connect=connect)
    except KeyboardInterrupt:
        pass
    except ProcessFailed as failed:
        sys.exit(str(failed))
    finally:  # whatever happened, leave no process behind
        for child in reversed(children):
            child.stop(timeout=15)
        if children:  # this demo wrote it (not one refused for a port another demo holds)
            SETTINGS_FILE.unlink(missing_ok=True)  # its settings would name ports nothing answers


def run(children: list[Process], *, connect: bool) -> None:
    for port, name in ((EMULATOR_PORT, "EMULATOR_PORT"), (BOT_PORT, "BOT_PORT")):
        if port_in_use(port):
            sys.exit(f"port {port} is in use (an earlier demo still running?); stop it or set "
                     f"{name}=<another port>")
    # Both write to this terminal; each is started, then awaited, by the shared launcher.
    emulator = start("the emulator", emulator_command(EMULATOR_PORT), env=dict(os.environ),
                     cwd=REPO, url=EMULATOR)
    children.append(emulator)
    emulator.wait_ready(f"{EMULATOR}/_emulator/directory")
    directory = requests.get(f"{EMULATOR}/_emulator/directory", timeout=5).json()
    env = bot_environment(directory, admin_access(connect))
    subprocess.run([str(BIN / "flask"), "--app", "app", "webhooks", "sync"], cwd=REPO, env=env,
                   check=True)
    bot = start("the bot", gunicorn_command(BOT_PORT), env=env, cwd=REPO, url=BOT)
    children.append(bot)
    bot.wait_ready(f"{BOT}/healthz")
    print_where_to_look(authorization_url(env) if connect else None)
    while all(child.running() for child in children):
        time.sleep(0.5)
    print("a process stopped; shutting down", file=sys.stderr)


def print_where_to_look(authorization: str | None) -> None:
    cards = "" if (REPO / "node_modules" / "adaptivecards").is_dir() else (
        "\n  (node_modules is missing, so cards show as text: run `npm ci`, as `make demo` does)\n")
    print(f"""
  Open {EMULATOR}/ : the local Webex space, with the bot in it.
  Pick who you are (Alice Fuller is a Full Administrator, Rita Reed Read-only, Otto Other is in
  another org), type `show`, `edit` or `help`, fill and press the cards; "What the emulator saw"
  shows the API calls, webhook deliveries, faults and the current voicemail rules.
{cards}
  Voicemail Rules Bot demo is running (Ctrl-C stops it).

  Bot health                    : {BOT}/healthz
  Emulator (Webex) API          : {EMULATOR}/v1/
  People, spaces and tokens     : {EMULATOR}/_emulator/directory
  From a terminal               : .venv/bin/python scripts/talk.py alice show
  Operator commands             : .venv/bin/flask -e instance/demo.env --app app orgs list
{connect_text(authorization)}""", flush=True)


def connect_text(authorization: str | None) -> str:
    if authorization is None:
        return """
  The bot uses the seeded admin token. To connect the org as an operator would instead (no admin
  token; a Full Administrator allows the access on the consent page): make demo CONNECT=1
"""
    return f"""
  The bot has no admin token yet: until the org is connected it answers that it is not yet
  authorized. Connect it as on Webex: open this link (printed by
  `flask --app app admin authorize`; it works once, for 15 minutes), choose Alice Fuller
  (a Full Administrator) and press Accept; the bot's /oauth/callback page says what happened:

{authorization}
"""


if __name__ == "__main__":
    main()
