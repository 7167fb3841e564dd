"""Faults of the distributed topology, each ending in the same check: every acknowledged span is stored
exactly once (listed once through the REST API, one row in Postgres, rollups counted once) and nothing
unknown appears. Loads are bounded in count and time; the client retries like an OTLP exporter."""

from __future__ import annotations

import time

import pytest

import harness
from harness import SpanLoad, assert_stored_exactly_once

pytestmark = pytest.mark.distributed_only("crashes and outages of the separate services, Kafka and Postgres")

MIB = 1 << 20


def rss_sampler(process, samples: list):
    """Appends the process's RSS to `samples` (call it periodically)."""
    samples.append(process.rss_bytes())


def test_writer_kill_9_mid_batch_then_restart(osprey_factory, project):
    server = osprey_factory("writer-kill")
    load = SpanLoad(server, project, requests=300, senders=4).start()
    load.wait_acked(60)
    server.writer.kill()  # under continuous load the writer is inside a batch almost all the time
    acked_at_kill = load.acked_count()
    load.wait_acked(acked_at_kill + 40)  # ingest keeps acknowledging into Kafka without a writer
    server.writer.start()
    load.join()
    print(f"writer killed after {acked_at_kill} acks; failed attempts {dict(load.codes)}")
    assert_stored_exactly_once(server, load)


def test_ingest_kill_9_under_load_client_retries(osprey_factory, project):
    server = osprey_factory("ingest-kill")
    load = SpanLoad(server, project, requests=300, senders=4).start()
    load.wait_acked(60)
    server.ingest.kill()
    killed_at = load.acked_count()
    time.sleep(0.5)
    server.ingest.start()  # new ports: the client's next attempt goes there
    load.join()
    print(f"ingest killed after {killed_at} acks; failed attempts {dict(load.codes)}")
    assert killed_at < len(load.built), "the kill did not land under load"
    assert load.codes, "no request failed while ingest was down"
    assert_stored_exactly_once(server, load)


def test_kafka_broker_restart_under_load(osprey_factory, project):
    server = osprey_factory("kafka-restart")
    load = SpanLoad(server, project, requests=300, senders=4, rate=60, rpc_timeout=5).start()
    load.wait_acked(40)
    kafka = server.kafka
    rss: list = []
    down_at = time.monotonic()
    kafka.stop()
    before_restart = load.acked_count()
    outage_end = time.monotonic() + 5
    while time.monotonic() < outage_end:
        rss_sampler(server.ingest, rss)
        time.sleep(0.25)
    failed_during_outage = dict(load.codes)
    kafka.start()
    outage_s = time.monotonic() - down_at
    load.join()
    print(f"broker down {outage_s:.1f}s at {before_restart} acks; failed attempts {dict(load.codes)}; "
          f"ingest RSS max {max(rss) / MIB:.0f} MiB")
    assert failed_during_outage, "no request was refused while the broker was down (nothing was in flight?)"
    assert set(failed_during_outage) <= {c.name for c in harness.RETRYABLE_GRPC}, failed_during_outage
    assert max(rss) < 512 * MIB
    assert_stored_exactly_once(server, load)


@pytest.mark.slow
def test_postgres_down_30s_under_load(osprey_factory, project):
    """Ingest keeps accepting into Kafka, the writer waits (bounded memory) and catches up."""
    pg = harness.Infra(kafka=False).start()  # a cluster of its own: the other deployments keep theirs
    try:
        server = osprey_factory("pg-down", postgres=pg.postgres)
        load = SpanLoad(server, project, requests=700, senders=4, rate=20).start()  # ~35 s of 200 spans/s
        load.wait_acked(40)
        pg.postgres.stop()
        acked_at_stop = load.acked_count()
        writer_rss: list = []
        ingest_rss: list = []
        outage_end = time.monotonic() + 30
        while time.monotonic() < outage_end:
            rss_sampler(server.writer, writer_rss)
            rss_sampler(server.ingest, ingest_rss)
            time.sleep(0.5)
        acked_during_outage = load.acked_count() - acked_at_stop
        assert server.writer.alive(), f"the writer exited while Postgres was down:\n{server.writer.log_tail()}"
        pg.postgres.start()
        load.join()
        print(f"Postgres down 30 s: {acked_during_outage} requests acknowledged meanwhile; writer RSS max "
              f"{max(writer_rss) / MIB:.0f} MiB, ingest {max(ingest_rss) / MIB:.0f} MiB; failed attempts {dict(load.codes)}")
        assert acked_during_outage >= 300, "ingest stopped accepting while only Postgres was down"
        assert max(writer_rss) < 512 * MIB and max(ingest_rss) < 512 * MIB
        assert_stored_exactly_once(server, load, timeout=120)
    finally:
        pg.stop()


def test_poison_message_goes_to_the_dead_letter_topic_and_the_partition_moves_on(osprey_factory, project):
    server = osprey_factory("poison")
    kafka = server.kafka
    topic = server.namespace + "osprey.spans.v1"
    partitions = kafka.tool("partitions", topic)[0]["partitions"]
    assert partitions >= 2
    poison = b"\xff\xfe not a SpanBatch \x00\x01".hex()
    produced = [kafka.tool("produce", topic, str(p), f"poison-{p}", poison)[0] for p in range(partitions)]
    # Spans on every partition behind the poison: they are stored, so each partition moved past it.
    load = SpanLoad(server, project, requests=20, senders=2).start()
    load.join()
    assert_stored_exactly_once(server, load)

    dead = kafka.tool("read", server.namespace + "osprey.spans.dlq.v1", str(partitions), "30000")
    assert len(dead) == partitions, dead
    by_source = {(int(d["headers"]["osprey-source-partition"]), int(d["headers"]["osprey-source-offset"])): d
                 for d in dead}
    for p, meta in enumerate(produced):
        record = by_source.get((p, meta["offset"]))
        assert record is not None, f"poison at partition {p} offset {meta['offset']} not dead-lettered: {dead}"
        assert record["payload_hex"] == poison and record["key"] == f"poison-{p}"
        assert "does not decode as osprey.bus.v1.SpanBatch" in record["headers"]["osprey-error"], record
        assert record["headers"]["osprey-source-topic"] == "osprey.spans.v1"


def test_two_writers_share_the_partitions_and_store_every_span_once(osprey_factory, project):
    server = osprey_factory("two-writers")
    second = server.add_writer()
    group = server.namespace + "osprey-writer"
    deadline = time.monotonic() + 30
    while True:
        members = kafka_members(server, group)
        if len(members) == 2 and all(members.values()) or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert len(members) == 2, f"consumer group {group}: {members}"
    assigned = [p for ps in members.values() for p in ps]
    assert sorted(assigned) == list(range(4)), f"partitions not split between the writers: {members}"
    load = SpanLoad(server, project, requests=200, senders=4).start()
    load.wait_acked(80)
    second.kill()  # the survivor takes over its partitions, including any uncommitted batch
    load.join()
    assert_stored_exactly_once(server, load)


def kafka_members(server, group) -> dict:
    try:
        found = server.kafka.tool("group", group)[0]
    except harness.OspreyError:
        return {}
    return {m["client_id"] + str(i): m["partitions"] for i, m in enumerate(found["members"])}


def test_overload_without_a_writer_is_retryable_and_recovers(osprey_factory, project):
    """A client far above capacity against an ingest with a small in-flight budget while no writer drains
    Kafka: refusals are OTLP-retryable, ingest memory stays bounded, and after the writer returns every
    request is stored once."""
    server = osprey_factory("overload", {"ingest": {"inflight_bytes": 4 * MIB, "max_request_bytes": 1 * MIB}})
    server.writer.stop()
    load = SpanLoad(server, project, requests=160, spans_per_request=20, senders=16, attribute_bytes=20_000,
                    retry_for=120).start()  # 160 × ~400 KiB
    rss: list = []
    while any(t.is_alive() for t in load._threads) and len(rss) < 240:
        rss_sampler(server.ingest, rss)
        time.sleep(0.25)
    server.writer.start()
    load.join()
    print(f"failed attempts {dict(load.codes)}; ingest RSS max {max(rss) / MIB:.0f} MiB")
    assert load.codes.get("RESOURCE_EXHAUSTED", 0) + load.codes.get("UNAVAILABLE", 0) >= 1, \
        f"16 senders of 400 KiB requests against a 4 MiB budget: nothing refused ({dict(load.codes)})"
    assert set(load.codes) <= {c.name for c in harness.RETRYABLE_GRPC}, dict(load.codes)
    assert max(rss) < 512 * MIB
    assert_stored_exactly_once(server, load)
