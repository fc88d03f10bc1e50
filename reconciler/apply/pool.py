"""Apply's batches: how they are packed, and a few of them in flight at a time, results
handed back in order of completion to the one thread that journals and reports them."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import TypeVar

__all__ = ["MAX_CONCURRENCY", "in_parallel", "pack"]

MAX_CONCURRENCY = 52
"""Dataverse's concurrent-request limit per user (api-protocols A9): never more in flight."""

Item = TypeVar("Item")
Result = TypeVar("Result")


def pack(
    items: Iterable[Item], cost: Callable[[Item, list[Item]], int], limit: int
) -> list[list[Item]]:
    """Greedy batches of at most ``limit`` operations, in order. ``cost`` is what an item
    adds to the batch so far (a document's header and lines, or a line and, first in its
    batch, its header); an item that alone exceeds ``limit`` goes alone (a change set
    cannot be split)."""
    batches: list[list[Item]] = []
    current: list[Item] = []
    used = 0
    for item in items:
        price = cost(item, current)
        if current and used + price > limit:
            batches.append(current)
            current, used = [], 0
            price = cost(item, current)
        current.append(item)
        used += price
    if current:
        batches.append(current)
    return batches


def in_parallel(
    work: Callable[[Item], Result], items: Sequence[Item], concurrency: int
) -> Iterator[Result]:
    """``work`` on each item with at most ``concurrency`` running; results as they finish.

    Items are submitted only as slots free up, so a stopped consumer leaves nothing queued.
    An exception in ``work`` propagates to the consumer after the running items finish.
    """
    limit = max(1, min(concurrency, MAX_CONCURRENCY))
    if limit == 1 or len(items) <= 1:
        yield from (work(item) for item in items)
        return
    pending = iter(items)
    with ThreadPoolExecutor(max_workers=limit, thread_name_prefix="apply") as pool:
        running: set[Future[Result]] = set()
        for item in pending:
            running.add(pool.submit(work, item))
            if len(running) == limit:
                break
        while running:
            done, running = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                next_item = next(pending, None)
                if next_item is not None:
                    running.add(pool.submit(work, next_item))
                yield future.result()
