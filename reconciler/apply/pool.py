"""Bounded parallelism for apply: a few batches in flight, results handed back in order of
completion to the one thread that journals and reports them."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import TypeVar

__all__ = ["MAX_CONCURRENCY", "in_parallel"]

MAX_CONCURRENCY = 52
"""Dataverse's concurrent-request limit per user (api-protocols A9): never more in flight."""

Item = TypeVar("Item")
Result = TypeVar("Result")


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
