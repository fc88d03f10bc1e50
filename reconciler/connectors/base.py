"""The small seam between the tool and a service: read pages, find, create, update.

Snapshot and apply depend on these Protocols only, so a connector is swappable and the
pure stages never see HTTP.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from reconciler.errors import ServiceError

__all__ = [
    "ChangePage",
    "ChangeRead",
    "ChangeReader",
    "Connector",
    "Created",
    "Document",
    "DocumentWriter",
    "Link",
    "Row",
    "Write",
    "Written",
]

Row = dict[str, Any]


@dataclass(frozen=True)
class Link:
    """A lookup to set on write: ``navigation`` points at ``entity_set(record_id)``."""

    navigation: str
    entity_set: str
    record_id: str


@dataclass(frozen=True)
class Created:
    """What a create returned: the new record's id (or key) and its ETag when known."""

    record_id: str
    etag: str | None


@dataclass(frozen=True)
class Document:
    """A header and its lines, written atomically (one change set): all or nothing.

    ``parent`` is how a line names the new header: on Dataverse the line's navigation
    property bound to it (``<parent>@odata.bind``), on F&O the header's collection of lines
    the line is posted to (``$1/<parent>``).
    """

    entity: str
    values: Mapping[str, Any]
    links: Sequence[Link]
    lines: Sequence[tuple[str, Mapping[str, Any], Sequence[Link]]]
    parent: str


@dataclass(frozen=True)
class Write:
    """One independent write of a batch: a create (no ``record_id``) or an update."""

    entity: str
    values: Mapping[str, Any]
    links: Sequence[Link] = ()
    record_id: str | None = None
    etag: str | None = None


@dataclass(frozen=True)
class Written:
    """The answer to one Write: what a create made, or the error the service gave."""

    created: Created | None = None
    error: ServiceError | None = None


class Connector(Protocol):
    """One service (SCM or FS) as the tool needs it."""

    system: str
    url: str

    def read_pages(
        self, entity: str, columns: Sequence[str], *, filter: str | None, order_by: Sequence[str]
    ) -> Iterator[list[Row]]:
        """Yield the entity's rows page by page, only the given columns."""
        ...

    def find(self, entity: str, match: Mapping[str, Any], columns: Sequence[str]) -> list[Row]:
        """Rows whose columns equal ``match`` (case-insensitive like the service)."""
        ...

    def fetch(self, entity: str, record_id: str, columns: Sequence[str]) -> Row | None:
        """One row by id, or None when it no longer exists."""
        ...

    def create(self, entity: str, values: Mapping[str, Any], links: Sequence[Link]) -> Created:
        """Create one record."""
        ...

    def update(
        self,
        entity: str,
        record_id: str,
        values: Mapping[str, Any],
        *,
        etag: str | None,
        links: Sequence[Link] = (),
    ) -> None:
        """Update only the given fields (and lookups); ``etag`` guards against lost updates."""
        ...

    def find_many(
        self, entity: str, matches: Sequence[Mapping[str, Any]], columns: Sequence[str]
    ) -> list[list[Row]]:
        """``find`` for each match, in one round trip where the service allows."""
        ...

    def fetch_many(
        self, entity: str, record_ids: Sequence[str], columns: Sequence[str]
    ) -> list[Row | None]:
        """``fetch`` for each id, in one round trip where the service allows."""
        ...

    def write_many(self, writes: Sequence[Write]) -> list[Written]:
        """Independent writes in one ``$batch``: one failing does not stop the others.

        Raises OutcomeUnknownError when the batch may have run but its answer was lost.
        """
        ...

    @property
    def request_count(self) -> int:
        """HTTP requests sent so far (for reports and benchmarks)."""
        ...

    @property
    def throttled_count(self) -> int:
        """429 answers waited out so far (for reports)."""
        ...


@runtime_checkable
class DocumentWriter(Protocol):
    """A connector that can write a header with its lines in one atomic change set."""

    def create_document(self, document: Document) -> list[Created]:
        """Create a header and its lines atomically; returns the header, then each line."""
        ...

    def create_documents(self, documents: Sequence[Document]) -> list[list[Created] | ServiceError]:
        """Several documents in one ``$batch``, one change set each: a failing document
        rolls back alone. Raises OutcomeUnknownError when the answer was lost."""
        ...


@dataclass(frozen=True)
class ChangePage:
    """One page of a change-tracking read: rows as they are now, and ids of deleted rows."""

    rows: list[Row]
    deleted: list[str]


class ChangeRead(Protocol):
    """Pages of a change-tracking read; ``delta_link`` is known after the last page."""

    @property
    def delta_link(self) -> str | None: ...

    def __iter__(self) -> Iterator[ChangePage]: ...


@runtime_checkable
class ChangeReader(Protocol):
    """A connector whose service tracks changes (Dataverse): incremental snapshots."""

    def read_changes(
        self, entity: str, columns: Sequence[str], delta_link: str | None
    ) -> ChangeRead:
        """Every row (no ``delta_link``) or what changed since ``delta_link``."""
        ...
