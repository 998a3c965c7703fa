"""Hostile YAML costs milliseconds and kilobytes: the alias bomb and the deep-nesting bomb, sent to the policy and
directory loaders in this process and to `POST /api/v1/policy/validate` on a real server, with CPU time and memory
measured."""

from __future__ import annotations

import resource
import time
import tracemalloc
from pathlib import Path
from typing import Callable

import httpx
import pytest
from security_served import Served, post_file

from approvals.directory import load_directory
from approvals.errors import DirectoryInvalid, PolicyInvalid
from approvals.policy.cases import CasesInvalid, load_cases
from approvals.policy.loader import load_policy_text


def _alias_bomb() -> bytes:
    """Nine levels of nine aliases each (9**9 = 387 million strings once expanded), 439 bytes."""
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, name in zip("abcdefgh", "bcdefghi"):
        lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    text = "policy: {id: lol, version: '1', currency: USD}\n" + "\n".join(lines) + "\n"
    text += "#" * (439 - len(text) - 1) + "\n"
    assert len(text.encode()) == 439
    return text.encode()


ALIAS_BOMB = _alias_bomb()
# 100,000 nested lists: the composer recurses once per level, and every level costs its walk
DEEP_BOMB = b"policy: " + b"[" * 100_000 + b"]" * 100_000 + b"\n"
BOMBS = {"alias": ALIAS_BOMB, "deep": DEEP_BOMB}

CPU_LIMIT_IN_PROCESS = 0.05  # seconds
MEMORY_LIMIT_IN_PROCESS = 512 * 1024  # bytes at the peak, beyond the bomb's own text
CPU_LIMIT_SERVED = 0.25  # seconds of the server's CPU for the whole request (auth, multipart, answer)
MEMORY_LIMIT_SERVED = 4 * 1024  # KiB the server's peak resident memory may grow by


def _cost(work: Callable[[], object]) -> tuple[float, int]:
    """CPU seconds and peak traced bytes of `work()` in this process."""
    tracemalloc.start()
    before = resource.getrusage(resource.RUSAGE_SELF)
    try:
        work()
    finally:
        after = resource.getrusage(resource.RUSAGE_SELF)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), peak


def _refused(load: Callable[[], object], error: type[Exception]) -> Callable[[], str]:
    def work() -> str:
        with pytest.raises(error) as caught:
            load()
        return str(caught.value)

    return work


@pytest.mark.parametrize("bomb", sorted(BOMBS))
def test_policy_loader_refuses_the_bomb_in_milliseconds_and_kilobytes(bomb):
    """Someone uploads a tiny policy file built to explode: it is refused as not allowed, within 50 ms and 512 KB."""
    text = BOMBS[bomb].decode()
    work = _refused(lambda: load_policy_text(text, "bomb.yaml"), PolicyInvalid)
    cpu, peak = _cost(work)
    message = work()
    assert ("anchors and aliases" if bomb == "alias" else "nests deeper") in message
    assert cpu < CPU_LIMIT_IN_PROCESS, f"{bomb} bomb: {cpu * 1000:.1f} ms of CPU"
    assert peak < MEMORY_LIMIT_IN_PROCESS, f"{bomb} bomb: {peak / 1024:.0f} KiB at the peak"
    print(f"loader, {bomb} bomb: {cpu * 1000:.2f} ms CPU, {peak / 1024:.1f} KiB peak")


@pytest.mark.parametrize("bomb", sorted(BOMBS))
def test_cases_and_directory_loaders_refuse_the_bomb(bomb, tmp_path: Path):
    """The same bombs as a policy's test cases or as the company directory are refused just as cheaply."""
    path = tmp_path / "company.yaml"
    path.write_bytes(BOMBS[bomb])
    for work in (
        _refused(lambda: load_directory(path), DirectoryInvalid),
        _refused(lambda: load_cases(BOMBS[bomb].decode(), "cases.yaml"), CasesInvalid),
    ):
        cpu, peak = _cost(work)
        assert cpu < CPU_LIMIT_IN_PROCESS and peak < MEMORY_LIMIT_IN_PROCESS, (bomb, cpu, peak)


def test_an_anchor_is_refused_with_its_line_and_what_to_do():
    """A policy author reuses a list with &anchor: the error names the line and says to write the value out."""
    text = "policy:\n  id: x\n  version: '1'\n  currency: USD\nshared: &approvers [a, b]\nrules: []\n"
    with pytest.raises(PolicyInvalid) as caught:
        load_policy_text(text, "mine.yaml")
    issue = caught.value.issues[0]
    assert issue.line == 5 and "anchors and aliases" in issue.message and "write the value out" in issue.hint


def _settled(served: Served, quiet: float = 0.05, within: float = 120.0) -> None:
    """Wait until the server's CPU stays idle for half a second, so what it does in the background after start-up
    is not counted against the bomb."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        before = served.cpu_seconds()
        time.sleep(0.5)
        if served.cpu_seconds() - before < quiet:
            return
    raise AssertionError(f"the server was still busy after {within:.0f} s")


@pytest.mark.parametrize("bomb", sorted(BOMBS))
def test_validate_endpoint_answers_the_bomb_cheaply_on_a_real_server(served: Served, bomb):
    """The bomb posted to /api/v1/policy/validate costs the server milliseconds of CPU and no memory."""
    post_file(served, "/api/v1/policy/validate", b"policy: {}\n")  # warm the route up: first-call imports
    _settled(served)  # the server's start-up work (the category classifier trains in the background) is done
    cpu, peak = served.cpu_seconds(), served.memory_kb("VmHWM")
    started = time.monotonic()
    answer = post_file(served, "/api/v1/policy/validate", BOMBS[bomb], name="bomb.yaml")
    elapsed = time.monotonic() - started
    used, grew = served.cpu_seconds() - cpu, served.memory_kb("VmHWM") - peak
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert report["valid"] is False and report["findings"][0]["kind"] == "yaml"
    assert used < CPU_LIMIT_SERVED, f"{bomb} bomb: {used * 1000:.0f} ms of the server's CPU"
    assert grew < MEMORY_LIMIT_SERVED, f"{bomb} bomb: the server's peak memory grew by {grew} KiB"
    print(f"server, {bomb} bomb: {used * 1000:.0f} ms CPU, peak RSS +{grew} KiB, answered in {elapsed * 1000:.0f} ms")
    assert httpx.get(served.base + "/healthz").status_code == 200
