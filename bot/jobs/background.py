"""Everything a process runs besides answering requests: inbox workers and periodic jobs.

Started once per process after gunicorn forks a worker (``post_worker_init`` in gunicorn.conf.py,
and on the first request as a fallback for other servers), or by ``flask --app app worker``;
never at import, never in gunicorn's master, never by the other CLI commands.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.inbox.worker import Worker
from bot.jobs.scheduler import Scheduler


@dataclass
class Background:
    worker: Worker
    scheduler: Scheduler

    def start(self) -> None:
        self.worker.start()
        self.scheduler.start()

    def stop(self) -> None:
        self.scheduler.stop()
        self.worker.stop()
