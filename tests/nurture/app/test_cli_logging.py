"""The command line's logging: set once by `nurture`, quiet unless asked with -v or -vv."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from nurture.config import PROJECT_ROOT


def _nurture(tmp_path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "REDIS_URL", "SMTP_URL") and not k.startswith("NURTURE_")}
    env["NURTURE_VAR_DIR"] = str(tmp_path)  # an SQLite database of its own
    return subprocess.run([sys.executable, "-m", "nurture.app.cli", *args], env=env,
                          cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120)


def test_a_command_prints_its_own_lines_and_no_log_lines(tmp_path):
    for _ in range(2):  # a new database, then one already migrated
        done = _nurture(tmp_path, "init")
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith("The database is ready:")
        assert done.stderr == ""


def test_v_shows_what_is_happening(tmp_path):
    done = _nurture(tmp_path, "-v", "init")
    assert done.returncode == 0, done.stderr
    assert "INFO alembic.runtime.migration: Running upgrade" in done.stderr


@pytest.mark.parametrize(("flags", "level"), [((), "WARNING"), (("-v",), "INFO"),
                                              (("-vv",), "DEBUG"), (("-vvv",), "DEBUG")])
def test_each_v_logs_more(tmp_path, flags, level):
    script = ("import logging, sys\n"
              "from nurture.app.cli import main\n"
              "main(sys.argv[1:], standalone_mode=False)\n"
              "print(logging.getLevelName(logging.getLogger().level))\n")
    done = subprocess.run([sys.executable, "-c", script, *flags, "events", "types"],
                          cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == level
