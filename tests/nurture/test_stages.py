"""The send path's stage meter: off, it counts nothing; on, a stage's own CPU time leaves
out the stages inside it, and every process's totals add up from their files."""

from __future__ import annotations

import json
import subprocess
import sys

from nurture import stages


def _spin(ns: int) -> None:
    import time
    end = time.thread_time_ns() + ns
    while time.thread_time_ns() < end:
        pass


def test_nested_stages_count_their_own_time_only(tmp_path):
    stages.reset()
    with stages.stage("record"):
        pass
    assert stages.totals() == {}  # off unless enabled: nothing counted
    stages.enable()
    try:
        with stages.stage("record"):
            _spin(20_000_000)
            with stages.stage("smtp"):
                _spin(30_000_000)
        found = stages.totals()
    finally:
        stages._on = False
        stages.reset()
    assert found["smtp"]["ns"] >= 30_000_000 and found["record"]["ns"] >= 20_000_000
    assert found["record"]["ns"] < 30_000_000  # the inner 30 ms is not counted twice


def test_each_process_writes_its_totals_and_collect_sums_them(tmp_path):
    code = ("from nurture import stages\n"
            "with stages.stage('mime'):\n"
            "    sum(range(200000))\n")
    for _ in range(2):
        subprocess.run([sys.executable, "-c", code], check=True,
                       env={"NURTURE_STAGE_TIMES": str(tmp_path), "PATH": "/usr/bin"})
    files = list(tmp_path.glob("*.json"))
    assert len(files) == 2
    each = [json.loads(f.read_text())["mime"]["ns"] for f in files]
    assert stages.collect(tmp_path) == {"mime": sum(each)} and min(each) > 0
