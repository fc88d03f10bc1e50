"""Shared pieces of the emulated world's state: counters, store errors and the undo journal
that makes a ``$batch`` change set all-or-nothing."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


@dataclass
class Stats:
    """What tests assert on: HTTP requests per service ("fno"/"dataverse", counted before
    authentication), token requests per audience, operations inside ``$batch`` bodies,
    requests answered 429 by service protection or an injected fault, and connections closed
    by a ``drop_before``/``drop_after`` fault."""

    requests: Counter[str] = field(default_factory=Counter)
    token_requests: Counter[str] = field(default_factory=Counter)
    batch_parts: Counter[str] = field(default_factory=Counter)
    throttled: Counter[str] = field(default_factory=Counter)
    dropped: Counter[str] = field(default_factory=Counter)

    def reset(self) -> None:
        counters = (self.requests, self.token_requests, self.batch_parts, self.throttled)
        for counter in (*counters, self.dropped):
            counter.clear()


class StoreError(Exception):
    """Base of the errors stores raise; HTTP layers map them to each service's error JSON."""


class UnknownEntitySet(StoreError):
    pass


class RecordNotFound(StoreError):
    pass


class DuplicateKey(StoreError):
    pass


class InvalidRecord(StoreError):
    """A row the schema rejects (unknown field, missing key, bad enum member)."""


class MissingKey(InvalidRecord):
    """A key field is absent; F&O reports it from X++ validation, not from OData."""


class Transaction:
    """Undo actions recorded while a change set runs; ``rollback`` replays them backwards."""

    def __init__(self) -> None:
        self._undo: list[Callable[[], object]] = []

    def record(self, undo: Callable[[], object]) -> None:
        self._undo.append(undo)

    def rollback(self) -> None:
        while self._undo:
            self._undo.pop()()

    def absorb(self, inner: Transaction) -> None:
        """Keep a committed inner unit's undo actions, so that rolling this unit back also
        undoes the inner one (a create that runs server-side logic inside a change set)."""
        self._undo.extend(inner._undo)
        inner._undo = []


class Journal:
    """Where stores report how to undo a write. Outside a transaction nothing is kept."""

    def __init__(self, lock: threading.RLock) -> None:
        self.lock = lock
        self._active: Transaction | None = None

    def record(self, undo: Callable[[], object]) -> None:
        if self._active is not None:
            self._active.record(undo)

    @contextmanager
    def atomic(self) -> Iterator[Transaction]:
        """Hold the world lock for the whole unit; roll back if the body raises. Callers that
        detect a failed operation without an exception call ``rollback`` themselves. Units
        nest like savepoints: a committed inner unit stays undoable by the outer one."""
        with self.lock:
            outer = self._active
            transaction = Transaction()
            self._active = transaction
            try:
                yield transaction
            except BaseException:
                transaction.rollback()
                raise
            finally:
                self._active = outer
            if outer is not None:
                outer.absorb(transaction)
