"""The operational endpoints a deployment and the Phoenix client rely on."""

from __future__ import annotations

import re

import pytest
import requests

from harness import decode_global_id, parse_metrics


def test_health_and_readiness(osprey):
    for route in ("/healthz", "/readyz"):
        response = osprey.get(route)
        assert response.status_code == 200, f"{route}: {response.status_code} {response.text}"


def test_phoenix_version_is_plain_semver(osprey):
    response = osprey.get("/arize_phoenix_version")
    assert response.status_code == 200
    # the Python client gates features on this; sessions need >= 13.5.0
    match = re.fullmatch(r"(\d+)\.(\d+)\.(\d+)\s*", response.text)
    assert match, response.text
    assert tuple(int(x) for x in match.groups()) >= (13, 5, 0), response.text


def test_metrics_are_prometheus_text_with_osprey_prefix(osprey):
    response = osprey.get("/metrics")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain"), response.headers
    samples = parse_metrics(response.text)
    assert samples, "no samples"
    names = {key.split("{", 1)[0] for key in samples}
    assert all(n.startswith("osprey_") for n in names), sorted(n for n in names if not n.startswith("osprey_"))
    assert "# TYPE" in response.text and "# HELP" in response.text


def test_project_list_shape(osprey):
    page = osprey.get_json("/v1/projects")
    assert set(page) >= {"data", "next_cursor"}
    for project in page["data"]:
        assert set(project) >= {"id", "name"}, project
        assert decode_global_id(project["id"])[0] == "Project"


def test_unknown_route_is_404(osprey):
    assert osprey.get("/v1/no-such-route").status_code == 404


def test_a_lone_writer_serves_health_readiness_and_its_metrics(osprey):
    """In the distributed mode the writer has no OTLP or REST port; its admin listener answers instead."""
    if osprey.mode != "distributed":
        pytest.skip("the embedded process serves these on its REST port (test_health_and_readiness)")
    for writer in osprey.writers:
        for route in ("/healthz", "/readyz"):
            response = requests.get(writer.admin_url + route, timeout=10)
            assert response.status_code == 200, f"{writer.name}{route}: {response.status_code} {response.text}"
        samples = parse_metrics(requests.get(writer.admin_url + "/metrics", timeout=10).text)
        names = {key.split("{", 1)[0] for key in samples}
        assert "osprey_writer_spans_written_total" in names, sorted(names)
