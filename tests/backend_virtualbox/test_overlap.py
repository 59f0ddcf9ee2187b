"""Reading many machines at once (overlap.each): in order, the first on the calling thread,
the rest on a few workers set up for VirtualBox, and nothing on workers where the threads
of this process do not share an apartment.  No VirtualBox needed."""

from __future__ import annotations

import threading
from types import SimpleNamespace

import pytest

from hosted.backend.virtualbox import overlap


class Threads:
    def __init__(self, shared: bool) -> None:
        self.shared = shared
        self.attached: set[str] = set()

    def attach(self) -> None:
        self.attached.add(threading.current_thread().name)


def reader(seen: dict[int, str], none: frozenset[int] = frozenset()):  # type: ignore[no-untyped-def]
    def read(item: int) -> int | None:
        seen[item] = threading.current_thread().name
        return None if item in none else item * 10
    return read


def test_the_first_value_is_read_on_the_calling_thread_the_rest_on_attached_workers() -> None:
    ctx = SimpleNamespace(threads=Threads(shared=True))
    seen: dict[int, str] = {}
    items = list(range(12))
    out = overlap.each(ctx, items, reader(seen, none=frozenset({0, 1, 7})))  # type: ignore[arg-type]
    assert out == [None if i in (0, 1, 7) else i * 10 for i in items]
    here = threading.current_thread().name
    assert seen[0] == seen[1] == seen[2] == here  # up to and with the first value: descriptions built
    workers = {seen[i] for i in items[3:]}
    assert here not in workers and all(w.startswith("hosted-read") for w in workers)
    assert 1 < len(workers) <= overlap.WIDTH
    assert ctx.threads.attached == workers


def test_a_warmed_predicate_decides_where_the_workers_begin() -> None:
    ctx = SimpleNamespace(threads=Threads(shared=True))
    seen: dict[int, str] = {}
    overlap.each(ctx, list(range(10)), reader(seen), warmed=lambda r: r is not None and r >= 40)  # type: ignore[arg-type]
    here = threading.current_thread().name
    assert [seen[i] == here for i in range(10)] == [True] * 5 + [False] * 5


@pytest.mark.parametrize(("shared", "count"), [(False, 12), (True, overlap.MIN_ITEMS)])
def test_everything_on_the_calling_thread_without_a_shared_apartment_or_with_few_items(
        shared: bool, count: int) -> None:
    ctx = SimpleNamespace(threads=Threads(shared=shared))
    seen: dict[int, str] = {}
    assert overlap.each(ctx, list(range(count)), reader(seen)) == [i * 10 for i in range(count)]  # type: ignore[arg-type]
    assert set(seen.values()) == {threading.current_thread().name} and not ctx.threads.attached


def test_an_error_of_a_worker_is_raised_on_the_calling_thread() -> None:
    ctx = SimpleNamespace(threads=Threads(shared=True))

    def read(item: int) -> int:
        if item == 6:
            raise LookupError("gone")
        return item

    with pytest.raises(LookupError, match="gone"):
        overlap.each(ctx, list(range(10)), read)  # type: ignore[arg-type]


def test_nothing_to_read() -> None:
    ctx = SimpleNamespace(threads=Threads(shared=True))
    assert overlap.each(ctx, [], reader({})) == []  # type: ignore[arg-type]
    assert overlap.each(ctx, [0, 1], reader({}, none=frozenset({0, 1}))) == [None, None]  # type: ignore[arg-type]
