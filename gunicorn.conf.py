"""gunicorn settings for ``gunicorn app:app`` (read automatically from the working directory).

Threaded workers: webhook requests are short (store, acknowledge) and Webex calls happen off the
request path, so a few threads per process serve many deliveries at once. Bind address and worker
count follow gunicorn's own ``PORT``/``WEB_CONCURRENCY``/``GUNICORN_CMD_ARGS`` conventions.
"""

import sys

worker_class = "gthread"
workers = 2
threads = 8
timeout = 30          # a worker silent for this long is restarted
graceful_timeout = 20  # time to finish in-flight requests on shutdown
keepalive = 5
accesslog = "-"
errorlog = "-"
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms'
forwarded_allow_ips = "127.0.0.1"


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
    from bot.config import ConfigError, load_settings
    from bot.store import upgrade

    try:
        settings = load_settings()
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        sys.exit(1)
    upgrade(settings.database_url)
