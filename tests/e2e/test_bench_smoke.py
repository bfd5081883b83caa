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
    assert len(results["targets"]) == 8 + 3  # issue 6's, then the many orgs' (issue 15)
    report = (tmp_path / "REPORT.md").read_text()
    for heading in ("## Targets", "## Machine, versions, settings",
                    "## 1. Webex calls per interaction", "## 2. Critical path",
                    "## 3. Acknowledgement", "## 4. Burst", "## 6. Many orgs"):
        assert heading in report
    assert_the_many_orgs_section_counted(figures["many_orgs"])


def assert_the_many_orgs_section_counted(section: dict) -> None:
    """Section 6 with 20 orgs: every org connected through the operator's command and read by the
    watcher (counted per org from the emulator's call log), the peak of calls in flight measured,
    and the shows during the sweep answered. Counts, not timings."""
    many = section["many_orgs"]
    assert many["orgs"] == section["params"]["orgs"] == 20
    assert many["connect"]["per_org_in_one_process_ms"]["n"] == 19  # the first as its own process
    assert many["reads"]["never_read"] == 0 and many["reads"]["read_in_first_interval"] >= 1
    assert many["calls_while_watched"]["GET /v1/telephony/config/voicemail/rules"] >= 20
    assert many["peak_later_rounds"] >= 1 and many["peak_whole_run"] >= many["peak_later_rounds"]
    assert many["show"]["e2e_ms"]["n"] == section["params"]["shows"]
    assert section["one_org"]["reads"]["orgs"] == 1 and section["one_org"]["rss_mb_per_worker"]
