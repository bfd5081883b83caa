"""Debian's nginx (/usr/sbin/nginx) in front of the bot, with the checked-in configuration.

``deploy/nginx/vmrules.conf`` (the site) and ``deploy/nginx/vmrules-proxy.conf`` (the snippet with
every directive between a client and gunicorn) run here as an operator installs them, in a small
``nginx.conf`` of the test's own: the snippet is copied unchanged, and the site is rendered with
only what cannot be the same on a test machine moved (``render_site``): the upstream's port, the
listening ports (IPv4 loopback only), the log directory, and the certificate, whose ``ssl_*``
lines are left out to talk plain HTTP. nginx runs unprivileged (as ``nobody`` when the tests run
as root), in a directory of its own with its temp directories, in the foreground, stopped by
signal with the launcher the other servers use (``devtools.processes``).
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from devtools.processes import Process, ProcessFailed, free_port, port_in_use, start
from tests.support.paths import REPO
from tests.support.system import missing
from tests.support.waiting import wait_until

NGINX = Path("/usr/sbin/nginx")
SITE = REPO / "deploy" / "nginx" / "vmrules.conf"
SNIPPET = REPO / "deploy" / "nginx" / "vmrules-proxy.conf"
SERVER_NAME = "bot.example.com"

# What an operator's nginx.conf gives the site (Debian's includes sites-enabled/* in http {}),
# for one nginx that is not root: nginx's compiled-in paths (/var/lib/nginx, /var/log/nginx, the
# pid file in /run) belong to root, so every path it writes is in its own directory.
MAIN_CONF = """\
daemon off;
worker_processes 1;
pid nginx.pid;
error_log stderr notice;
events {
    worker_connections 1024;
}
http {
    client_body_temp_path temp/body;
    proxy_temp_path temp/proxy;
    fastcgi_temp_path temp/fastcgi;
    uwsgi_temp_path temp/uwsgi;
    scgi_temp_path temp/scgi;
    access_log off;
    include sites-enabled/vmrules.conf;
}
"""


@dataclass(frozen=True)
class Certificate:
    chain: Path
    key: Path


@dataclass
class Nginx:
    process: Process
    directory: Path
    https_url: str  # the site's main server (plain http when it runs without a certificate)
    http_url: str   # the site's port-80 server, which only redirects

    def access_log(self) -> str:
        path = self.directory / "logs" / "vmrules.access.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def error_log(self) -> str:
        """nginx's error log: its main one (the process's output here) and the site's own."""
        path = self.directory / "logs" / "error.log"
        return self.process.log() + (path.read_text(errors="replace") if path.exists() else "")


def require_nginx() -> None:
    if not NGINX.exists():
        missing(f"the nginx tests need Debian's nginx at {NGINX}: apt-get install nginx "
                f"(.ci/run does)", in_ci="CI=true: the nginx tests must run")


def render_site(site: str, *, upstream_port: int, https_port: int, http_port: int, log_dir: Path,
                certificate: Certificate | None) -> str:
    """The site file with only the machine-specific parts moved (each must be found, so a change
    to the file that this does not follow fails here rather than testing something else)."""
    moves = [
        (r"(?m)^[ \t]*listen \[::\]:\d+( ssl)?;\n", ""),  # loopback IPv4 only
        (r"server 127\.0\.0\.1:8000;", f"server 127.0.0.1:{upstream_port};"),
        (r"listen 443 ssl;", f"listen 127.0.0.1:{https_port}{' ssl' if certificate else ''};"),
        (r"listen 80;", f"listen 127.0.0.1:{http_port};"),
        (r"/var/log/nginx/", f"{log_dir}/"),
    ]
    if certificate is None:
        moves.append((r"(?m)^[ \t]*ssl_\w+ [^\n]*\n", ""))
    else:
        moves += [(r"ssl_certificate +\S+;", f"ssl_certificate {certificate.chain};"),
                  (r"ssl_certificate_key +\S+;", f"ssl_certificate_key {certificate.key};")]
    for pattern, replacement in moves:
        site, found = re.subn(pattern, replacement, site)
        assert found, f"{SITE.name} no longer has {pattern!r}: update render_site"
    return site


@contextmanager
def nginx_in_front(upstream_port: int, log_dir: Path, *, port: int | None = None,
                   certificate: Certificate | None = None,
                   wait_ready: bool = True) -> Iterator[Nginx]:
    """nginx with the site in front of gunicorn on ``upstream_port``: its main server on ``port``
    (default: a free one), its port-80 server on a free port; ready once ``/healthz`` answers
    through it (``wait_ready``; else once it listens). Its output goes to a ``nginx-<port>.log``
    in ``log_dir``."""
    require_nginx()
    # Not under pytest's tmp_path: its parents are closed to other users, and nginx's user must
    # read its configuration and write its temp files and logs.
    directory = Path(tempfile.mkdtemp(prefix="vmbot-nginx-"))
    try:
        nginx = _start(directory, upstream_port, port or free_port(), log_dir, certificate,
                       wait_ready)
        try:
            yield nginx
        finally:
            nginx.process.stop()
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def _start(directory: Path, upstream_port: int, https_port: int, log_dir: Path,
           certificate: Certificate | None, wait_ready: bool) -> Nginx:
    http_port = free_port()
    (directory / "snippets").mkdir()
    (directory / "sites-enabled").mkdir()
    (directory / "temp").mkdir()
    (directory / "logs").mkdir()
    shutil.copyfile(SNIPPET, directory / "snippets" / SNIPPET.name)
    if certificate:  # where nginx's user can read it (Debian's nginx reads it as root)
        certificate = Certificate(Path(shutil.copy(certificate.chain, directory / "fullchain.pem")),
                                  Path(shutil.copy(certificate.key, directory / "privkey.pem")))
    (directory / "sites-enabled" / SITE.name).write_text(render_site(
        SITE.read_text(), upstream_port=upstream_port, https_port=https_port,
        http_port=http_port, log_dir=directory / "logs", certificate=certificate))
    (directory / "nginx.conf").write_text(MAIN_CONF)
    scheme = "https" if certificate else "http"
    url = f"{scheme}://127.0.0.1:{https_port}"
    process = start("nginx", [*_unprivileged(directory), str(NGINX), "-p", f"{directory}/",
                              "-c", str(directory / "nginx.conf"), "-e", "stderr"],
                    env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")}, cwd=directory,
                    log_path=log_dir / f"nginx-{https_port}.log", url=url,
                    ready_url=f"{url}/healthz" if wait_ready and not certificate else None,
                    timeout=15)
    if certificate or not wait_ready:  # the launcher's readiness check would not trust the test's certificate
        wait_until(lambda: _listening(process, https_port), "nginx to listen", timeout=15)
    return Nginx(process, directory, url, f"http://127.0.0.1:{http_port}")


def _listening(process: Process, port: int) -> bool:
    if not process.running():
        raise ProcessFailed(f"nginx exited during start-up:\n{process.log_tail()}")
    return port_in_use(port)


def _unprivileged(directory: Path) -> list[str]:
    """The command prefix that runs nginx as ``nobody`` when the tests run as root (nginx would
    otherwise keep a root master), with ``directory`` handed to that user."""
    if os.geteuid() != 0:
        return []
    for path in [directory, *directory.rglob("*")]:
        shutil.chown(path, "nobody", "nogroup")
    return ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]
