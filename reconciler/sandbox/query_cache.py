"""Ordered query results kept between the pages of one read.

Both services page server-side: F&O by offset (``$skip``), Dataverse by a cursor in
``$skiptoken``. Filtering and sorting a million rows again for every page would make a full
read cost O(n) per page, O(n²/page) in all; keeping the sorted result of recent queries makes
every later page a slice. An entry is valid only while its entity set's generation is
unchanged, so a write between pages is seen exactly as the real service would see it: the
next page is computed from the new contents.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

T = TypeVar("T")
DEFAULT_CAPACITY = 8


class QueryCache(Generic[T]):
    """Least-recently-used results keyed by a query signature."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        self._capacity = capacity
        self._entries: OrderedDict[Hashable, tuple[int, list[T]]] = OrderedDict()
        self._lock = threading.Lock()
        self.computed = 0

    def results(
        self, signature: Hashable, generation: int, compute: Callable[[], list[T]]
    ) -> list[T]:
        """The cached list for ``signature`` at ``generation``, computing it when absent or
        stale. The list is shared: callers slice it and never change it."""
        with self._lock:
            entry = self._entries.get(signature)
            if entry is not None and entry[0] == generation:
                self._entries.move_to_end(signature)
                return entry[1]
        rows = compute()
        with self._lock:
            self.computed += 1
            self._entries[signature] = (generation, rows)
            self._entries.move_to_end(signature)
            while len(self._entries) > self._capacity:
                self._entries.popitem(last=False)
        return rows
