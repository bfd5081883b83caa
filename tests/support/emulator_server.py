"""Run the emulator as a real HTTP server on a free localhost port, in a background thread."""

from __future__ import annotations

import threading
from dataclasses import dataclass

import requests
from werkzeug.serving import make_server

from emulator.app import create_app
from emulator.state import State


@dataclass
class EmulatorServer:
    """A running emulator: ``base_url`` ends in ``/v1/`` as Webex's does; ``state`` is its world."""

    url: str
    state: State
    _server: object
    _thread: threading.Thread

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1/"

    def id(self, key: str) -> str:
        """The id of a seeded person, room, org or role by its seed key (``alice``, ``admins``...)."""
        return self.state.keys[key]

    def control(self, method: str, path: str, **kwargs) -> requests.Response:
        response = requests.request(method, f"{self.url}/_emulator/{path}", timeout=10, **kwargs)
        response.raise_for_status()
        return response

    def add_fault(self, **spec) -> dict:
        return self.control("POST", "faults", json=spec).json()

    def calls(self) -> dict[str, int]:
        return self.control("GET", "calls").json()["counts"]

    def reset(self) -> None:
        self.state.reset()

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join(timeout=5)


def start_emulator(seed_path: str | None = None, port: int = 0) -> EmulatorServer:
    state = State.from_file(seed_path)
    server = make_server("127.0.0.1", port, create_app(state), threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02},
                              name="emulator", daemon=True)  # stop() is quick (default 0.5 s)
    thread.start()
    return EmulatorServer(url=f"http://127.0.0.1:{server.port}", state=state, _server=server,
                          _thread=thread)
