"""Slow and half-open clients cannot hold the bot (issue 12, item 1).

The bot runs as README and the Procfile say (``gunicorn app:app`` with gunicorn.conf.py, no proxy
in front) while 250 unauthenticated connections misbehave on its webhook path
(``tests/support/hostile_clients.py``: stalled and trickled headers, stalled and trickled bodies,
silent connections, each opened again as soon as the server lets it go). Meanwhile a signed
delivery must get its 2xx in under a second and its reply must reach Webex (the emulator), and
``/healthz`` answers. ``test_nginx.py`` does the same with nginx in front.
"""

from __future__ import annotations

from tests.support.bot_process import bot_env, free_port, start_gunicorn
from tests.support.factories import SECRET
from tests.support.hostile_clients import BODY_KINDS, Swarm, open_files_for_a_swarm, press

HOLD_SECONDS = 12.0


def test_slow_and_half_open_clients_do_not_hold_the_bot(emulator, tmp_path):
    port = free_port()
    with open_files_for_a_swarm():
        bot = start_gunicorn(bot_env(emulator, tmp_path, SECRET, port), tmp_path, port)  # 2 workers
        swarm = Swarm(port)
        try:
            # Checked while the first connections are held, and after the read deadlines (5 s for
            # headers, 10 s for a body) have let them go and they have come back.
            press(swarm, emulator, bot.url, HOLD_SECONDS)
            assert len(swarm.clients) == 250
            assert bot.popen.poll() is None, bot.log()
            # Nothing is held for ever: stalled headers and stalled bodies were let go (and came back).
            kinds = {kind for kind, _how in swarm.let_go}
            assert kinds == {c.kind for c in swarm.clients}, swarm.let_go
            assert all(how.endswith("408 Request Timeout") for (kind, how) in swarm.let_go
                       if kind in BODY_KINDS), swarm.let_go
        finally:
            swarm.stop()
            bot.stop()
