"""The benchmark (``make bench``) still runs end to end: a ``--quick`` run with tiny sizes, checked
for the report's structure and for what is not a timing: every burst event answered exactly once.
Its timing figures mean nothing at this size, so none is asserted."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_a_quick_benchmark_run_writes_the_report(tmp_path):
    done = subprocess.run([sys.executable, str(REPO / "bench" / "run.py"), "--quick",
                           "--out", str(tmp_path)], cwd=REPO, capture_output=True, text=True,
                          timeout=110)
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads((tmp_path / "results.json").read_text())
    assert {"machine", "versions", "settings", "results", "targets"} <= set(results)
    figures = results["results"]
    assert set(figures["calls"]) == {
        "show (cold)", "show (warm)", "edit", "form submit -> confirmation card",
        "confirm -> applied and notified", "history", "help"}
    assert all(figure["calls"]["n"] >= 1 for figure in figures["calls"].values())
    assert {"warm", "cold"} == set(next(iter(figures["critical_path"].values())))
    assert {"baseline", "0"} <= set(figures["acknowledgement"])
    assert figures["burst"]["runs"] and "rss_mb_per_worker" in figures["burst"]
    # the benchmark tells replies apart by the word each event carries: none lost, none repeated
    assert [(run["lost"], run["duplicated"]) for run in figures["burst"]["runs"]] == \
        [(0, 0)] * len(figures["burst"]["runs"])
    assert len(results["targets"]) == 8
    report = (tmp_path / "REPORT.md").read_text()
    for heading in ("## Targets", "## Machine, versions, settings",
                    "## 1. Webex calls per interaction", "## 2. Critical path",
                    "## 3. Acknowledgement", "## 4. Burst"):
        assert heading in report
