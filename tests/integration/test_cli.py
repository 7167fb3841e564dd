"""The osprey command line: `migrate`, configuration validation and the mode rule, with their exit codes."""

from __future__ import annotations

import os
import sqlite3
import subprocess

import pytest

# The command line, not a topology: checked once, in the embedded pass.
pytestmark = pytest.mark.embedded_only("exercises the binary's command line only")


def run(*args: str, timeout: float = 60.0) -> subprocess.CompletedProcess:
    return subprocess.run([os.environ["OSPREY_BIN"], *args], capture_output=True, text=True, timeout=timeout)


def test_migrate_creates_the_schema_and_is_idempotent(tmp_path):
    data = tmp_path / "data"
    first = run("migrate", f"--data-dir={data}")
    assert first.returncode == 0, first.stderr
    assert '"msg":"store migrated"' in first.stderr
    again = run("migrate", f"--data-dir={data}")
    assert again.returncode == 0, again.stderr
    with sqlite3.connect(data / "osprey.db") as db:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert {"projects", "traces", "spans", "sessions"} <= tables
        assert [row[0] for row in db.execute("SELECT name FROM projects")] == ["default"]


def test_split_deployment_with_sqlite_is_refused(tmp_path):
    result = run("--target=ingest", f"--data-dir={tmp_path}")
    assert result.returncode == 2
    assert "need every module in one process" in result.stderr


def test_unknown_config_key_is_refused_with_its_path(tmp_path):
    config = tmp_path / "osprey.yaml"
    config.write_text("ingest:\n  grpc_listn: 127.0.0.1:0\n")
    result = run(f"--config={config}", "--check-config")
    assert result.returncode == 2
    assert "ingest.grpc_listn: unknown key" in result.stderr


def test_unknown_target_and_argument_are_refused():
    assert run("--target=evaluatr").returncode == 2
    bad = run("--frobnicate")
    assert bad.returncode == 2
    assert "unknown argument: --frobnicate" in bad.stderr
