"""Group commit: a batch of settlements in one transaction answers each exactly as settling
them one after another would, and a refusal or a fault touches only its own request."""

from __future__ import annotations

import threading
import time

from gongji.domain.errors import DomainError
from gongji.service.group import GroupCommit
from gongji.store.db import make_engine, migrate
from tests.service.helpers import family, service, visit


def _without_id(out):
    return out if isinstance(out, DomainError) else ({k: v for k, v in out[0].items() if k != "setl_id"}, out[1])


def _requests(kids):
    # 20 bills for 4 children of one holder: the holder's and the children's caps bind inside the batch
    reqs = [(f"k{i}", visit(kids[i % 4], "600.00"), "C1") for i in range(20)]
    reqs.insert(3, ("k0", visit(kids[0], "600.00"), "C1"))        # a retry inside the batch
    reqs.insert(5, ("k1", visit(kids[1], "700.00"), "C1"))        # the same key, another bill
    reqs.insert(7, ("x1", visit("NOBODY", "600.00"), "C1"))       # refused alone
    reqs.insert(9, ("x2", visit(kids[2], "600.00", fixmedins="NOPE"), "C1"))
    return reqs


def test_a_batch_answers_as_one_by_one(engine, tmp_path) -> None:
    batched = service(engine)
    kids = family(batched, "5200.00")
    reqs = _requests(kids)
    together = batched.settle_batch(reqs)

    alone_engine = make_engine(str(tmp_path / "alone.db"))
    migrate(alone_engine)
    alone = service(alone_engine)
    family(alone, "5200.00")
    one_by_one = []
    for key, v, actor in reqs:
        try:
            one_by_one.append(alone.settle_once(key, v, actor))
        except DomainError as e:
            one_by_one.append(e)

    assert len(together) == len(reqs)
    for a, b in zip(together, one_by_one, strict=False):
        if isinstance(b, DomainError):
            assert isinstance(a, DomainError) and a.code == b.code
        else:
            assert _without_id(a) == _without_id(b)
    codes = [o.code for o in together if isinstance(o, DomainError)]
    assert codes == ["IDEMPOTENCY_CONFLICT", "UNKNOWN_PERSON", "UNKNOWN_INSTITUTION"]
    assert together[3][1] is False and together[3][0] == together[0][0]  # the retry: first result
    paid = sum(int(o[0]["acct_mulaid_pay"].replace(".", "")) for o in together
               if not isinstance(o, DomainError) and o[1])
    assert paid == 500000  # the holder's annual cap, reached exactly inside one transaction
    assert batched.verify() == []
    alone_engine.dispose()


def test_a_retry_after_the_batch_answers_the_first_result(engine) -> None:
    svc = service(engine)
    kids = family(svc, "1000.00", beneficiaries=1)
    first = svc.settle_batch([("k", visit(kids[0], "600.00"), "C1")])[0]
    again = svc.settle_batch([("k", visit(kids[0], "600.00"), "C1"), ("k", visit(kids[0], "601.00"), "C1")])
    assert again[0] == (first[0], False)
    assert isinstance(again[1], DomainError) and again[1].code == "IDEMPOTENCY_CONFLICT"
    assert first[0]["setl_id"] in again[1].message


def _queued(group: GroupCommit, n: int) -> None:
    deadline = time.monotonic() + 10
    while len(group._queue) < n:
        assert time.monotonic() < deadline, "submitters never queued"
        time.sleep(0.001)


def test_waiting_requests_share_the_next_commit_and_a_fault_stays_with_its_request() -> None:
    batches: list[list[str]] = []
    release = threading.Event()

    def run_batch(reqs):
        if reqs == ["first"]:
            release.wait(10)
        batches.append(list(reqs))
        if "bad" in reqs:
            raise RuntimeError("disk on fire")
        return [DomainError("NOPE", "refused") if r == "refused" else r.upper() for r in reqs]

    group = GroupCommit(run_batch)
    out: dict[str, object] = {}

    def call(r):
        try:
            out[r] = group.submit(r)
        except Exception as e:  # noqa: BLE001 - recorded for the asserts
            out[r] = e

    leader = threading.Thread(target=call, args=("first",))
    leader.start()
    _queued(group, 0)
    while not group._leading:
        time.sleep(0.001)
    others = [threading.Thread(target=call, args=(r,)) for r in ("a", "bad", "refused", "b")]
    for t in others:
        t.start()
    _queued(group, 4)
    release.set()
    for t in [leader, *others]:
        t.join(10)

    assert batches[0] == ["first"]
    assert sorted(batches[1]) == ["a", "b", "bad", "refused"]  # all four waited for one commit
    assert out["first"] == "FIRST" and out["a"] == "A" and out["b"] == "B"  # rerun alone after the fault
    assert isinstance(out["bad"], RuntimeError)
    assert isinstance(out["refused"], DomainError)
    assert group.requests == 4  # committed: first, then a, refused, b one by one; bad never


def test_with_two_leaders_two_batches_are_in_flight_and_each_request_is_answered_once() -> None:
    both_inside = threading.Barrier(2, timeout=10)
    seen: list[str] = []
    lock = threading.Lock()

    def run_batch(reqs):
        if reqs[0] in ("x", "y"):
            both_inside.wait()  # breaks (and the test fails) unless both batches run at once
        with lock:
            seen.extend(reqs)
        return [r.upper() for r in reqs]

    group = GroupCommit(run_batch, leaders=2)
    out: dict[str, object] = {}
    threads = [threading.Thread(target=lambda r=r: out.__setitem__(r, group.submit(r))) for r in "xy"]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    more = [threading.Thread(target=lambda r=r: out.__setitem__(r, group.submit(r))) for r in "abcdefgh"]
    for t in more:
        t.start()
    for t in more:
        t.join(10)
    assert out == {r: r.upper() for r in "xyabcdefgh"}
    assert sorted(seen) == sorted("xyabcdefgh")  # each request in exactly one batch
    assert group._leading == 0
