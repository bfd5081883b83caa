"""Parts of the machine the tests need but do not install (Debian's chromium, nginx)."""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def missing(what: str, *, in_ci: str) -> NoReturn:
    """Skip locally; under CI=true a missing system part is a failure (``in_ci`` says why), never a
    skip."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{what} ({in_ci})", pytrace=False)
    pytest.skip(what)
