"""``python -m emulator --port N --seed FILE``: run the local Webex emulator."""

from __future__ import annotations

import argparse
import logging

from werkzeug.serving import make_server

from .app import create_app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m emulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8900)
    parser.add_argument("--seed", default=None, help="seed JSON file (default: emulator/seed.json)")
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level, format="%(asctime)s emulator %(levelname)s %(message)s")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    app = create_app(seed_path=args.seed)
    server = make_server(args.host, args.port, app, threaded=True)
    logging.getLogger(__name__).info("Webex emulator on http://%s:%s/v1/", args.host, server.port)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
