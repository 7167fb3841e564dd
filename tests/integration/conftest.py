"""Fixtures: an osprey deployment shared by the suite, a factory for deployments with their own config, and
a fresh project name per test (OTel ids are globally unique, so tests never reuse ids either).

OSPREY_MODE=embedded (default) runs one `osprey --target=all` per deployment; OSPREY_MODE=distributed runs
writer, ingest and query processes over a Kafka broker and a Postgres cluster started once per session
(harness.Infra). Either way the fixtures expose the same attributes (harness.OspreyClient). Markers:
`embedded_only` / `distributed_only` skip a test, with the marker's reason, in the other mode."""

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
    config.addinivalue_line("markers", "embedded_only(reason): runs only with OSPREY_MODE=embedded")
    config.addinivalue_line("markers", "distributed_only(reason): runs only with OSPREY_MODE=distributed")


def pytest_collection_modifyitems(config, items):
    for item in items:
        for marker, mode in (("embedded_only", "embedded"), ("distributed_only", "distributed")):
            found = item.get_closest_marker(marker)
            if found is not None and harness.MODE != mode:
                reason = found.args[0] if found.args else found.kwargs.get("reason", "")
                item.add_marker(pytest.mark.skip(reason=f"{mode} mode only: {reason}"))


def pytest_report_header(config):
    return f"osprey mode: {harness.MODE}"


_instances: list[harness.OspreyClient] = []
_infra: list[harness.Infra] = []


def infra() -> harness.Infra:
    """The session's Kafka and Postgres (distributed mode), started on first use."""
    if not _infra:
        _infra.append(harness.Infra().start())
    return _infra[0]


def pytest_sessionfinish(session, exitstatus):
    for server in _instances:
        try:
            if server.alive():
                server.kill()
        except Exception:  # noqa: BLE001 - best effort before the infrastructure goes away
            pass
    while _infra:
        _infra.pop().stop()


def _start(tmp_path_factory, name: str, overrides: dict | None = None, *, start: bool = True,
           postgres: harness.Postgres | None = None):
    """A deployment of the current mode. Distributed: its own topics and database on the session's Kafka
    and Postgres (or on `postgres`, a cluster the test owns)."""
    workdir = tmp_path_factory.mktemp(name)
    if harness.MODE == "distributed":
        cluster = infra()
        pg = postgres or cluster.postgres
        tag = f"{re.sub(r'[^a-z0-9]+', '_', name.lower())}_{uuid.uuid4().hex[:8]}"
        dsn = pg.create_database(f"osprey_{tag}")
        config = harness.merge(harness.distributed_config(workdir / "data", cluster.kafka.brokers, dsn, f"{tag}."),
                               overrides or {})
        server = harness.DistributedOsprey(binary=os.environ["OSPREY_BIN"], workdir=workdir, config=config,
                                           name=name, kafka=cluster.kafka, postgres=pg, database=f"osprey_{tag}")
    else:
        config = harness.merge(harness.default_config(workdir / "data"), overrides or {})
        server = harness.Osprey(binary=os.environ["OSPREY_BIN"], workdir=workdir, config=config, name=name)
    _instances.append(server)
    return server.start() if start else server


@pytest.fixture(scope="session")
def osprey(tmp_path_factory):
    """The shared deployment (default limits). Tests isolate themselves by project name."""
    server = _start(tmp_path_factory, "shared")
    yield server
    code = server.stop()
    # A clean SIGTERM shutdown is part of the contract (design §5: graceful SIGTERM).
    assert code == 0, f"osprey exited with {code} on SIGTERM:\n{server.log_tail()}"


@pytest.fixture
def osprey_factory(tmp_path_factory):
    """Starts servers with config overrides; every one is killed at the end of the test."""
    started: list[harness.Osprey] = []

    def make(name: str = "custom", overrides: dict | None = None, start: bool = True,
             postgres: harness.Postgres | None = None) -> harness.OspreyClient:
        server = _start(tmp_path_factory, name, overrides, start=start, postgres=postgres)
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
        used = [v for v in getattr(item, "funcargs", {}).values() if isinstance(v, harness.OspreyClient)]
        used += _instances[item.stash.get(_first_instance, len(_instances)):]
        seen: set[int] = set()
        for server in used:
            if id(server) in seen or not server.logs:
                continue
            seen.add(id(server))
            if server.logs:
                report.sections.append((f"osprey log tail ({server.name}, start {server.starts})",
                                        server.log_tail(30)))
