"""The durable due-work queue: exactly-once claims, leases, retries, and a re-send that is noticed."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlmodel import Session, select

from approvals import jobqueue
from approvals.db import transaction
from approvals.jobqueue import Job, JobQueue


def _add(engine, clock, n: int, *, kind: str = "reminder", due_in: timedelta = timedelta(0), prefix: str = "r") -> None:
    with transaction(engine) as s:
        for i in range(n):
            jobqueue.enqueue(s, kind=kind, key=f"{prefix}:{i}", due_at=clock() + due_in, payload={"i": i}, now=clock())


def _states(engine) -> dict[str, str]:
    with Session(engine) as s:
        return {j.dedupe_key: j.state for j in s.exec(select(Job)).all()}


def test_the_same_work_scheduled_twice_is_one_row(engine, clock):
    """Two replicas schedule the same reminder: one row, and the second enqueue says it was already there."""
    with transaction(engine) as s:
        assert jobqueue.enqueue(s, kind="reminder", key="step:1:r1", due_at=clock(), now=clock()) is True
    with transaction(engine) as s:
        assert jobqueue.enqueue(s, kind="reminder", key="step:1:r1", due_at=clock(), now=clock()) is False
    assert list(_states(engine)) == ["step:1:r1"]


def test_work_scheduled_in_a_rolled_back_action_never_happens(engine, clock):
    """An action fails after scheduling its reminder: the reminder is gone with it."""
    with pytest.raises(RuntimeError):
        with transaction(engine) as s:
            jobqueue.enqueue(s, kind="reminder", key="step:9:r1", due_at=clock(), now=clock())
            raise RuntimeError("the action failed")
    assert _states(engine) == {}


def test_claim_takes_only_due_rows_of_its_kind_oldest_first(engine, clock):
    """A tick takes what is due now, oldest first, up to its limit; future rows and other kinds wait."""
    _add(engine, clock, 3, due_in=timedelta(hours=-1), prefix="late")
    _add(engine, clock, 2, due_in=timedelta(hours=2), prefix="later")
    _add(engine, clock, 2, kind="erp", prefix="erp")
    queue = JobQueue(engine, clock=clock, worker_id="w1", lease=timedelta(hours=3))
    got = queue.claim("reminder", limit=2)
    assert [j.key for j in got] == ["late:0", "late:1"]
    assert all(j.attempts == 1 and j.worker_id == "w1" for j in got)
    assert [j.key for j in queue.claim(["reminder"], limit=10)] == ["late:2"]
    assert queue.claim("reminder") == []
    clock.advance(hours=2)
    assert sorted(j.key for j in queue.claim("reminder")) == ["later:0", "later:1"]


def test_a_claimed_row_is_not_claimed_again_while_its_lease_holds(engine, clock):
    """Two workers tick one after the other: the second does not get what the first is working on."""
    _add(engine, clock, 5)
    first = JobQueue(engine, clock=clock, worker_id="w1").claim("reminder", limit=3)
    second = JobQueue(engine, clock=clock, worker_id="w2").claim("reminder", limit=10)
    assert len(first) == 3 and len(second) == 2
    assert not {j.id for j in first} & {j.id for j in second}


def test_a_crashed_claimers_rows_come_back_after_the_lease(engine, clock):
    """A worker dies holding rows: after its lease another worker takes them; the dead one cannot finish them."""
    _add(engine, clock, 2)
    dead = JobQueue(engine, clock=clock, worker_id="dead", lease=timedelta(minutes=5))
    taken = dead.claim("reminder")
    alive = JobQueue(engine, clock=clock, worker_id="alive")
    clock.advance(minutes=4, seconds=59)
    assert alive.claim("reminder") == []
    clock.advance(seconds=1)
    again = alive.claim("reminder")
    assert sorted(j.key for j in again) == sorted(j.key for j in taken)
    assert all(j.attempts == 2 for j in again)
    assert dead.complete(taken[0]) is False  # fenced off: its claim is no longer the row's claim
    assert all(alive.complete(j) for j in again)
    assert set(_states(engine).values()) == {"done"}


def test_a_row_sent_before_a_crash_is_not_sent_again(engine, clock):
    """The message went out, then the worker died before finishing: the next claim sees the message reference."""
    _add(engine, clock, 1)
    first = JobQueue(engine, clock=clock, worker_id="w1", lease=timedelta(minutes=1))
    job = first.claim("reminder")[0]
    assert job.sent_ref is None
    assert first.mark_sent(job, "msg-123")
    clock.advance(minutes=2)
    again = JobQueue(engine, clock=clock, worker_id="w2").claim("reminder")[0]
    assert again.sent_ref == "msg-123"


def test_retry_backs_off_and_gives_up_after_the_limit(engine, clock):
    """A failing send is retried later and later, then parked as dead with its last error for someone to look at."""
    _add(engine, clock, 1)
    queue = JobQueue(engine, clock=clock, worker_id="w1", max_attempts=3)
    job = queue.claim("reminder")[0]
    assert queue.retry(job, "chat API 503") == "failed"
    assert queue.claim("reminder") == []  # not before the backoff
    clock.advance(seconds=30)
    job = queue.claim("reminder")[0]
    assert job.attempts == 2
    assert queue.retry(job, "chat API 503") == "failed"
    clock.advance(seconds=59)
    assert queue.claim("reminder") == []
    clock.advance(seconds=1)
    job = queue.claim("reminder")[0]
    assert queue.retry(job, "chat API 503 again") == "dead"
    clock.advance(days=1)
    assert queue.claim("reminder") == []
    with Session(engine) as s:
        row = s.exec(select(Job)).one()
    assert (row.state, row.attempts, row.last_error) == ("dead", 3, "chat API 503 again")


def test_fail_parks_a_row_that_cannot_succeed(engine, clock):
    """A reminder for a person who left the company is parked as dead at once, with the reason."""
    _add(engine, clock, 1)
    queue = JobQueue(engine, clock=clock, worker_id="w1")
    job = queue.claim("reminder")[0]
    assert queue.fail(job, "no such person")
    assert _states(engine) == {"r:0": "dead"}
    assert queue.complete(job) is False


def test_complete_in_the_callers_transaction_commits_with_the_next_row(engine, clock):
    """Finishing a reminder and scheduling the next one happen together or not at all."""
    _add(engine, clock, 1)
    queue = JobQueue(engine, clock=clock, worker_id="w1")
    job = queue.claim("reminder")[0]
    with pytest.raises(RuntimeError):
        with transaction(engine) as s:
            queue.complete(job, sent_ref="m1", session=s)
            jobqueue.enqueue(s, kind="reminder", key="r:next", due_at=clock() + timedelta(hours=8), now=clock())
            raise RuntimeError("database went away")
    assert _states(engine) == {"r:0": "claimed"}
    with transaction(engine) as s:
        assert queue.complete(job, sent_ref="m1", session=s)
        jobqueue.enqueue(s, kind="reminder", key="r:next", due_at=clock() + timedelta(hours=8), now=clock())
    assert _states(engine) == {"r:0": "done", "r:next": "due"}


def test_reschedule_and_cancel_touch_only_waiting_rows(engine, clock):
    """Snoozing moves a waiting reminder; a decided step cancels its reminders; claimed rows are left alone."""
    _add(engine, clock, 3)
    queue = JobQueue(engine, clock=clock, worker_id="w1", lease=timedelta(hours=3))
    with transaction(engine) as s:
        assert jobqueue.reschedule(s, key="r:0", due_at=clock() + timedelta(hours=2), now=clock())
        assert jobqueue.cancel(s, keys=["r:1"], now=clock()) == 1
    assert [j.key for j in queue.claim("reminder")] == ["r:2"]
    with transaction(engine) as s:
        assert not jobqueue.reschedule(s, key="r:2", due_at=clock(), now=clock())  # claimed: not moved
        assert jobqueue.cancel(s, keys=["r:2", "missing"], now=clock()) == 0
    clock.advance(hours=2)
    assert [j.key for j in queue.claim("reminder")] == ["r:0"]


def test_stats_count_each_state_and_list_what_comes_next(engine, clock):
    """Status shows how many rows are due, claimed, failed and dead, and the next ones to come due."""
    _add(engine, clock, 3)
    _add(engine, clock, 2, due_in=timedelta(hours=1), prefix="soon")
    queue = JobQueue(engine, clock=clock, worker_id="w1", max_attempts=1)
    a, b = queue.claim("reminder", limit=2)
    queue.retry(a, "boom")  # max_attempts=1: dead
    stats = queue.stats()
    assert stats.counts == {"due": 3, "claimed": 1, "done": 0, "failed": 0, "dead": 1}
    assert stats.due_now == 1
    assert stats.next_due[0].dedupe_key == "r:2"


def test_claimers_racing_in_threads_never_share_a_row(engine, clock):
    """Eight workers tick at once: each of 400 rows is claimed by exactly one of them."""
    _add(engine, clock, 400)
    got: list[list[int]] = []
    barrier = threading.Barrier(8)

    def work(n: int) -> None:
        queue = JobQueue(engine, clock=clock, worker_id=f"t{n}")
        barrier.wait()
        mine: list[int] = []
        while batch := queue.claim("reminder", limit=7):
            mine += [j.id for j in batch]
        got.append(mine)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    ids = [i for mine in got for i in mine]
    assert len(ids) == 400 and len(set(ids)) == 400
