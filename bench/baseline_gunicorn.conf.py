"""gunicorn settings for the baseline (``bench/baseline_app.py``): the bot's own server settings.

Worker class, workers, connections per worker, timeouts, keep-alive and the access log are read from the bot's
``gunicorn.conf.py``; its hooks (migrations, inbox workers, metrics) are left out, because they
belong to the bot and not to the bare request path the baseline measures.
"""

import runpy
from pathlib import Path

_bot = runpy.run_path(str(Path(__file__).resolve().parent.parent / "gunicorn.conf.py"))

worker_class = _bot["worker_class"]
workers = _bot["workers"]
worker_connections = _bot["worker_connections"]
timeout = _bot["timeout"]
graceful_timeout = _bot["graceful_timeout"]
keepalive = _bot["keepalive"]
accesslog = _bot["accesslog"]
errorlog = _bot["errorlog"]
access_log_format = _bot["access_log_format"]
forwarded_allow_ips = _bot["forwarded_allow_ips"]
control_socket_disable = _bot["control_socket_disable"]

del _bot
