"""The Redis ledger's claim is a lease its holder keeps while it works, and only a holder records: a render that
outlasts the visibility timeout (a loaded machine: the two-worker Celery test rendered an event twice this way)
keeps its event, and a holder whose lease was lost records nothing and is tried again. On a real redis-server."""

import threading
import time

import pytest

from lab.production.ledger import ClaimLost, read_jsonl
from lab.production.redis_ledger import RedisLedger
from lab.production.task import BUSY, DUPLICATE, RENDERED, EventTask, RetryLater

pytest.importorskip("redis")

TTL_S = 2


def impression(key: str) -> dict:
    return {"key": key, "event_id": f"event-{key}", "arm": "v1"}


def test_a_claim_is_kept_while_its_holder_works_past_its_expiry(redis_url, tmp_path):
    holder = RedisLedger(tmp_path / "a", redis_url, claim_ttl_s=TTL_S)
    other = RedisLedger(tmp_path / "b", redis_url, claim_ttl_s=TTL_S)  # another machine, its own folder
    with holder.claim("k") as held:
        assert held
        until = time.monotonic() + 3 * TTL_S  # three expiries
        while time.monotonic() < until:
            with other.claim("k") as got:
                assert got is False  # before the lease, the claim expired after TTL_S and `other` rendered too
            time.sleep(0.2)
        holder.record("k", impression("k"))  # still its own: the record goes through
    assert [i["key"] for i in read_jsonl(holder.impressions_path)] == ["k"] and holder.done("k") is not None
    with other.claim("k") as got:
        assert got  # released when the holder ended
    assert holder.client.exists(RedisLedger._k("claim", "k")) == 0


def test_a_holder_that_lost_its_claim_records_nothing(redis_url, tmp_path):
    holder = RedisLedger(tmp_path / "a", redis_url, claim_ttl_s=TTL_S)
    name = RedisLedger._k("claim", "k")
    with holder.claim("k") as held:
        assert held
        # The lease ran out while this holder stalled (Redis out of reach, a stopped process) and another took it.
        holder.client.set(name, "another-ledger:1:token")
        with pytest.raises(ClaimLost, match="the claim on event k expired before its impression was recorded"):
            holder.record("k", impression("k"))
    assert read_jsonl(holder.impressions_path) == []
    assert holder.done("k") is None and holder.client.exists(RedisLedger._k("pending", "k")) == 0
    assert holder.client.get(name) == b"another-ledger:1:token"  # its release left the other's claim alone
    with holder.claim("k") as held:
        assert held is False


def test_an_event_whose_claim_was_lost_mid_render_is_retried_and_recorded_once(settings, redis_url):
    s = settings.__class__(**{**settings.__dict__, "broker": redis_url, "claim_ttl_s": TTL_S})
    task = EventTask(s)
    line = '{"event": "rank_up", "user": "Alice", "user_id": "u-1", "old_rank": 3, "new_rank": 2, "event_id": "lost-1"}'
    real_put, puts = task.store.put, []

    def put_then_lose_the_claim(src, name):  # the video is stored, then another worker takes the claim
        out = real_put(src, name)
        puts.append(name)
        if len(puts) == 2:
            for claim in task.ledger.client.scan_iter(match=RedisLedger._k("claim", "*")):
                task.ledger.client.set(claim, "another-ledger:1:token")
        return out

    task.store.put = put_then_lose_the_claim
    with pytest.raises(RetryLater) as lost:
        task.handle(line, "t:1")
    assert lost.value.fault == "ledger" and "expired before its impression was recorded" in str(lost.value)
    assert read_jsonl(task.ledger.impressions_path) == []
    assert task.handle(line, "t:2").status == BUSY  # the other holder has it now: this delivery leaves it be
    for claim in task.ledger.client.scan_iter(match=RedisLedger._k("claim", "*")):
        task.ledger.client.delete(claim)  # the other holder died before recording: its lease ran out
    assert task.handle(line, "t:3").status == RENDERED
    assert task.handle(line, "t:4").status == DUPLICATE
    assert [i["event_id"] for i in read_jsonl(task.ledger.impressions_path)] == ["lost-1"]


def test_every_claim_stops_its_lease_when_it_ends(redis_url, tmp_path):
    ledger = RedisLedger(tmp_path / "a", redis_url, claim_ttl_s=TTL_S)
    for i in range(20):
        with ledger.claim(f"k{i}") as held:
            assert held
    assert not [t for t in threading.enumerate() if t.name == "claim-lease"]  # no renewal outlives its claim
