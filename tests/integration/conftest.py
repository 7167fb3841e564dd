"""Fixtures: an osprey server shared by the suite, a factory for servers with their own config, and a
fresh project name per test (OTel ids are globally unique, so tests never reuse ids either)."""

from __future__ import annotations

import os
import re
import sys
import uuid
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness  # noqa: E402


def pytest_configure(config):
    binary = os.environ.get("OSPREY_BIN")
    if not binary or not os.access(binary, os.X_OK):
        pytest.exit(f"OSPREY_BIN must name the osprey binary (got {binary!r})", returncode=2)


_instances: list[harness.Osprey] = []


def _start(tmp_path_factory, name: str, overrides: dict | None = None) -> harness.Osprey:
    workdir = tmp_path_factory.mktemp(name)
    config = harness.merge(harness.default_config(workdir / "data"), overrides or {})
    server = harness.Osprey(binary=os.environ["OSPREY_BIN"], workdir=workdir, config=config, name=name)
    _instances.append(server)
    return server.start()


@pytest.fixture(scope="session")
def osprey(tmp_path_factory):
    """The shared embedded server (default limits). Tests isolate themselves by project name."""
    server = _start(tmp_path_factory, "shared")
    yield server
    code = server.stop()
    # A clean SIGTERM shutdown is part of the contract (design §5: graceful SIGTERM).
    assert code == 0, f"osprey exited with {code} on SIGTERM:\n{server.log_tail()}"


@pytest.fixture
def osprey_factory(tmp_path_factory):
    """Starts servers with config overrides; every one is killed at the end of the test."""
    started: list[harness.Osprey] = []

    def make(name: str = "custom", overrides: dict | None = None) -> harness.Osprey:
        server = _start(tmp_path_factory, name, overrides)
        started.append(server)
        return server

    yield make
    for server in started:
        server.stop()


@pytest.fixture
def project(request) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower()).strip("-")[:40]
    return f"it-{slug}-{uuid.uuid4().hex[:8]}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item):
    item.stash[_first_instance] = len(_instances)
    yield


_first_instance = pytest.StashKey[int]()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """On a failure, shows the log tail of the servers this test used."""
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" and report.failed:
        used = [v for v in getattr(item, "funcargs", {}).values() if isinstance(v, harness.Osprey)]
        used += _instances[item.stash.get(_first_instance, len(_instances)):]
        seen: set[int] = set()
        for server in used:
            if id(server) in seen or not server.logs:
                continue
            seen.add(id(server))
            if server.logs:
                report.sections.append((f"osprey log tail ({server.name}, start {server.starts})",
                                        server.log_tail(30)))
