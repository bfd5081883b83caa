"""gunicorn settings for ``gunicorn app:app`` (read automatically from the working directory).

gevent workers (bot/ops/server.py): a connection costs a greenlet, not a thread, so slow or
half-open clients cannot take the request path from Webex's deliveries, with no proxy in front;
request headers must arrive within ``keepalive`` seconds and a body within ``BODY_SECONDS``. Bind
address and worker count follow gunicorn's own ``PORT``/``WEB_CONCURRENCY``/``GUNICORN_CMD_ARGS``
conventions.
"""

import os
import shutil
import sys
import tempfile
from pathlib import Path

DEFAULT_WORKERS = 2


def _worker_count() -> int:
    # gunicorn's own default follows WEB_CONCURRENCY (set by some platforms), but a value in this
    # file overrides that default, so the convention is honoured here. A value int() refuses never
    # gets this far: gunicorn reads the variable on import and stops with a ValueError traceback.
    raw = os.environ.get("WEB_CONCURRENCY", "").strip()
    if not raw:
        return DEFAULT_WORKERS
    if not raw.isdecimal() or int(raw) < 1:
        print(f"configuration error: WEB_CONCURRENCY must be a whole number of worker processes, "
              f"at least 1 (got {raw!r})", file=sys.stderr)
        sys.exit(1)
    return int(raw)


# Read first: a bad value stops start-up before the metrics directory below is made.
workers = _worker_count()

# Prometheus multiprocess mode: every worker writes its metrics to files in one directory and
# GET /metrics adds them up (bot/ops/metrics.py). prometheus_client reads the variable when it is first
# imported, so it is set here, in the master, before any worker forks and imports the app. Each
# master gets its own directory unless the operator names one.
METRICS_DIR_PREFIX = "vmbot-metrics-"
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix=METRICS_DIR_PREFIX)

worker_class = "bot.ops.server.GeventWorker"
worker_connections = 1000  # open connections per worker process, each served by a greenlet
timeout = 30          # a worker silent for this long is restarted
graceful_timeout = 20  # time to finish in-flight requests on shutdown
keepalive = 5         # idle keep-alive, and the deadline for each request's header block
accesslog = "-"
errorlog = "-"
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms'
# X-Forwarded-Proto and the other scheme headers (and SCRIPT_NAME/PATH_INFO as headers) are believed
# only from a proxy on this host, such as deploy/nginx/, which sets them and drops what clients send.
# Set here, this also overrides gunicorn's FORWARDED_ALLOW_IPS variable. The bot builds every URL
# from PUBLIC_URL and reads none of them; from anywhere else they are ignored. A proxy on another
# host: GUNICORN_CMD_ARGS="--forwarded-allow-ips=ITS_ADDRESS".
forwarded_allow_ips = "127.0.0.1"
# gunicorn's control socket defaults to one path per user (~/.gunicorn/gunicorn.ctl), which two
# instances on one host would fight over; the bot is run and stopped with signals and needs none.
control_socket_disable = True


def post_worker_init(worker):
    """In each worker, after the fork: start the inbox workers and periodic jobs."""
    worker.wsgi.extensions["vmbot.background"].start()


def worker_exit(server, worker):
    """Let in-flight events finish; anything unfinished is picked up again by its lease."""
    background = getattr(worker, "wsgi", None) and worker.wsgi.extensions.get("vmbot.background")
    if background:
        background.stop()


def on_starting(server):
    """Once, in the master, before any worker: check the settings and bring the schema up to date."""
    _clear_metrics_dir()
    from bot.config import ConfigError, load_settings
    from bot.storage.store import upgrade

    try:
        settings = load_settings()
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        sys.exit(1)
    upgrade(settings.database_url)


def child_exit(server, worker):
    """In the master, when a worker is gone: its live gauges are dropped (its counters still count)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    """Remove the metrics directory this master made (never one the operator named)."""
    path = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    if path.parent == Path(tempfile.gettempdir()) and path.name.startswith(METRICS_DIR_PREFIX):
        shutil.rmtree(path, ignore_errors=True)


def _clear_metrics_dir():
    # prometheus_client needs an empty directory at start: counts of an earlier run would be added.
    path = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    path.mkdir(parents=True, exist_ok=True)
    for stale in path.glob("*.db"):
        stale.unlink()
