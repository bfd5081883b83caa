"""Browser tests: the emulator's local space page in Debian's headless Chromium, driven by
Playwright, against the emulator and the bot under gunicorn.

Chromium is /usr/bin/chromium (``.ci/run`` installs it with apt; Playwright's own browser download
cannot run here). Without it these tests skip locally and fail under ``CI=true``; the same goes
for the page's npm packages (``npm ci``, which ``make test`` runs).
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import pytest
import requests

from tests.browser.space_page import SpacePage
from tests.support.bot_process import REPO, BotProcess, bot_env, flask_cli, free_port, start_gunicorn
from tests.support.emulator_server import EmulatorServer, start_emulator
from tests.support.system import missing
from tests.support.waiting import wait_until

CHROMIUM = Path("/usr/bin/chromium")
# Without the networking flags Chromium keeps trying to reach hosts this machine cannot reach.
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync"]
VENDOR_FILES = [REPO / "node_modules/adaptivecards/dist/adaptivecards.min.js",
                REPO / "node_modules/markdown-it/dist/browser/markdown-it.umd.min.js"]
ARTIFACTS = REPO / "test-artifacts" / "browser"
SECRET = "browser-webhook-secret-2468"
READER_TIME_ZONE = "Asia/Kolkata"  # UTC+05:30


def _missing(what: str) -> NoReturn:
    missing(what, in_ci="CI=true: the browser tests must run")


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="package")
def browser(tmp_path_factory):
    """One headless Chromium for the browser tests, with a fresh profile (``--user-data-dir``).

    Package-scoped, like ``deployment``: both are gone before the rest of the suite runs."""
    if not CHROMIUM.exists():
        _missing("browser tests need Debian's chromium at /usr/bin/chromium: "
                 "apt-get install chromium (.ci/run does)")
    missing = [str(p.relative_to(REPO)) for p in VENDOR_FILES if not p.is_file()]
    if missing:
        _missing(f"the page's npm packages are not installed ({', '.join(missing)}): run npm ci "
                 f"(make test does)")
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=10_000)  # a bot reply under a loaded machine may take a while
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")), executable_path=str(CHROMIUM),
            headless=True, args=CHROMIUM_FLAGS, viewport={"width": 1200, "height": 900},
            # A reader away from UTC (and half an hour off it), so that a time a card shows in UTC
            # instead of the reader's own zone is seen.
            locale="en-GB", timezone_id=READER_TIME_ZONE, timeout=60_000)
        context.set_default_timeout(15_000)
        try:
            yield context
        finally:
            context.close()


@dataclass
class Deployment:
    emulator: EmulatorServer
    bot: BotProcess
    env: dict


@pytest.fixture(scope="package")
def deployment(tmp_path_factory):
    """The emulator and the bot under gunicorn, webhooks registered with the operator command."""
    emulator = start_emulator()
    workdir = tmp_path_factory.mktemp("space-bot")
    port = free_port()
    env = bot_env(emulator, workdir, SECRET, port, NOTIFY_ROOM_IDS=emulator.id("notify"),
                  WATCH_INTERVAL_SECONDS="0")
    bot = start_gunicorn(env, workdir, port)
    try:
        synced = flask_cli(env, workdir, "webhooks", "sync")
        assert synced.returncode == 0, synced.stdout + synced.stderr
        yield Deployment(emulator, bot, env)
    finally:
        bot.stop()
        emulator.stop()


def _settle(deployment: Deployment, timeout: float = 10.0) -> None:
    """Wait until every delivery is done and the bot has processed every event it accepted."""
    deployment.emulator.control("POST", "deliveries/wait", params={"timeout": timeout})

    def inbox() -> dict:
        return requests.get(f"{deployment.bot.url}/healthz", timeout=5).json()["components"]["inbox"]

    wait_until(lambda: not set(inbox()) - {"done", "failed"},
               "the bot to process every event it accepted", timeout=timeout, detail=inbox)


@pytest.fixture
def space(deployment, browser, artifacts, request):
    """A page of the local space on a world fresh from the seed (the bot's webhooks kept)."""
    deployment.emulator.state.reset(keep_webhooks=True)
    page = browser.new_page()
    space_page = SpacePage(page, deployment.emulator, artifacts)
    yield space_page
    problems = space_page.problems()
    try:
        report = getattr(request.node, "rep_call", None)
        if report is not None and report.failed:
            page.screenshot(path=str(artifacts / f"failed-{request.node.name}.png"))
    finally:
        page.close()
        _settle(deployment)
    assert problems == [], "the page reported renderer warnings or console errors"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


def copy_to_docs(source: Path, name: str) -> None:
    """README's screenshots come from the test run: copied to docs/ when DOCS_SCREENSHOTS=1."""
    if os.environ.get("DOCS_SCREENSHOTS") == "1":
        (REPO / "docs").mkdir(exist_ok=True)
        shutil.copyfile(source, REPO / "docs" / name)
