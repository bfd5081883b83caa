"""``python -m emulator --port N --seed FILE [--access-token-seconds N]``: run the local Webex emulator."""

from __future__ import annotations

import argparse
import logging

from werkzeug.serving import make_server

from .app import create_app
from .state import State


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m emulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8900)
    parser.add_argument("--seed", default=None, help="seed JSON file (default: emulator/seed.json)")
    parser.add_argument("--log-level", default="INFO")
    parser.add_argument("--access-token-seconds", type=int, default=None, metavar="N",
                        help="issued access tokens expire after N seconds (default: 14 days)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level, format="%(asctime)s emulator %(levelname)s %(message)s")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    state = State.from_file(args.seed)
    if args.access_token_seconds:
        state.seed["accessTokenSeconds"] = args.access_token_seconds  # kept on reset
        state.oauth.access_token_seconds = args.access_token_seconds
    app = create_app(state)
    server = make_server(args.host, args.port, app, threaded=True)
    logging.getLogger(__name__).info("Webex emulator on http://%s:%s/v1/", args.host, server.port)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
