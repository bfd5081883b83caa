"""``python -m emulator --port N --seed FILE [--orgs N] [--access-token-seconds N]
[--call-log-size N]``: run the local Webex emulator."""

from __future__ import annotations

import argparse
import json
import logging
import time

from werkzeug.serving import make_server

from .app import create_app
from .generate import MAX_GENERATED_ORGS, with_generated_orgs
from .state import DEFAULT_SEED, State


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m emulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8900)
    parser.add_argument("--seed", default=None, help="seed JSON file (default: emulator/seed.json)")
    parser.add_argument("--log-level", default="INFO")
    parser.add_argument("--access-token-seconds", type=int, default=None, metavar="N",
                        help="issued access tokens expire after N seconds (default: 14 days)")
    parser.add_argument("--orgs", type=int, default=0, metavar="N",
                        help="add N generated orgs (org0001...), each with a Full Administrator, "
                             "voicemail rules, a 1:1 space with the bot and the Service Apps "
                             "authorized (see GET /_emulator/orgs)")
    parser.add_argument("--call-log-size", type=int, default=None, metavar="N",
                        help="how many of the latest calls GET /_emulator/calls/log keeps "
                             "(default 2000)")
    args = parser.parse_args(argv)
    if args.call_log_size is not None and args.call_log_size < 1:
        parser.error("--call-log-size must be at least 1")
    if not 0 <= args.orgs <= MAX_GENERATED_ORGS:
        parser.error(f"--orgs must be between 0 and {MAX_GENERATED_ORGS}")
    logging.basicConfig(level=args.log_level, format="%(asctime)s emulator %(levelname)s %(message)s")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    state = load_state(args.seed, args.orgs)
    if args.access_token_seconds:
        state.seed["accessTokenSeconds"] = args.access_token_seconds  # kept on reset
        state.oauth.access_token_seconds = args.access_token_seconds
    if args.call_log_size:
        state.seed["callLogSize"] = args.call_log_size  # kept on reset
    app = create_app(state)
    server = make_server(args.host, args.port, app, threaded=True)
    logging.getLogger(__name__).info("Webex emulator on http://%s:%s/v1/", args.host, server.port)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


def load_state(seed_path: str | None, generated_orgs: int) -> State:
    """The world of the seed file, with ``generated_orgs`` more orgs; says how long it took."""
    started = time.monotonic()
    with open(seed_path or DEFAULT_SEED, encoding="utf-8") as handle:
        seed = json.load(handle)
    state = State.from_seed(with_generated_orgs(seed, generated_orgs))
    logging.getLogger(__name__).info("%d orgs (%d generated) loaded in %.2f s", len(state.orgs),
                                     len(state.generated_orgs), time.monotonic() - started)
    return state


if __name__ == "__main__":
    main()
