"""The benchmark's baseline: the least a webhook receiver can do.

It checks ``X-Spark-Signature`` (hex HMAC-SHA1 of the raw body) and answers, nothing more: no
parsing, no database, no metrics. Run under the bot's own gunicorn settings
(``bench/baseline_gunicorn.conf.py``), its acknowledgement throughput and latency are the yardstick
the bot's are divided by, so that the report gives ratios rather than times of this machine.
"""

from __future__ import annotations

import hashlib
import hmac
import os

from flask import Flask, jsonify, request

SECRET = os.environ["WEBEX_WEBHOOK_SECRET"].encode()

app = Flask(__name__)


@app.post("/webhooks/webex")
def webhook():
    body = request.get_data(cache=False)
    expected = hmac.new(SECRET, body, hashlib.sha1).hexdigest()
    if not hmac.compare_digest(expected, request.headers.get("X-Spark-Signature", "")):
        return jsonify(error="missing or wrong X-Spark-Signature"), 401
    return jsonify(status="accepted"), 202


@app.get("/healthz")
def healthz():
    return jsonify(status="ok")
