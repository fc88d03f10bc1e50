"""Shared OData v4 client for F&O and Dataverse: paging, retries, literals, ``$batch``.

Import from here; the submodules are one concern each (literals, errors, retry, batch,
client). This package never imports the sandbox: each side implements the protocol
independently from the reference, so neither can hide the other's mistakes.
"""

from reconciler.odata.batch import BatchRequest, BatchResponse, ChangeSet
from reconciler.odata.client import CreateResult, ODataClient
from reconciler.odata.literals import EnumValue, Filter, key_segment, literal
from reconciler.odata.retry import RetryPolicy

__all__ = [
    "BatchRequest",
    "BatchResponse",
    "ChangeSet",
    "CreateResult",
    "EnumValue",
    "Filter",
    "ODataClient",
    "RetryPolicy",
    "key_segment",
    "literal",
]
