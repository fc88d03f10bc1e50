"""Wiring for one run: authenticate once, open one connector per service, close them all.

This is the only place that turns a profile into live HTTP clients, so the library stages
stay testable with in-memory connectors.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Literal

from reconciler.auth import BearerAuth, ClientCredential, TokenProvider
from reconciler.config import Profile, resolve_secret
from reconciler.connectors.base import Connector
from reconciler.connectors.dataverse import DataverseConnector
from reconciler.connectors.fno import FnoConnector
from reconciler.odata.client import ODataClient
from reconciler.odata.retry import RetryPolicy
from reconciler.rules import RuleSet
from reconciler.snapshot import SnapshotInfo, take_snapshot

__all__ = ["open_connectors", "snapshot_now"]

FNO_DATA_PATH = "/data/"
DATAVERSE_API_PATH = "/api/data/v9.2/"


@contextmanager
def open_connectors(profile: Profile, rules: RuleSet) -> Iterator[dict[str, Connector]]:
    """``{"fno": …, "dataverse": …}`` sharing one token provider (one token per resource)."""
    secret, password = resolve_secret(profile)
    credential = ClientCredential(
        secret=secret, certificate_path=profile.certificate_path, certificate_password=password
    )
    with ExitStack() as stack:
        tokens = stack.enter_context(
            TokenProvider(
                tenant_id=profile.tenant_id,
                client_id=profile.client_id,
                credential=credential,
                authority_host=profile.authority_host,
                identity_endpoint=profile.identity_endpoint,
                timeout=profile.http.timeout,
            )
        )
        fno = stack.enter_context(
            _client(
                profile, "fno", profile.fno_url + FNO_DATA_PATH, BearerAuth(tokens, profile.fno_url)
            )
        )
        dataverse = stack.enter_context(
            _client(
                profile,
                "dataverse",
                profile.dataverse_url + DATAVERSE_API_PATH,
                BearerAuth(tokens, profile.dataverse_url),
            )
        )
        yield {
            "fno": FnoConnector(fno, profile.fno_url, _fno_keys(rules)),
            "dataverse": DataverseConnector(dataverse, profile.dataverse_url, _primary_ids(rules)),
        }


def snapshot_now(
    profile: Profile,
    rules: RuleSet,
    *,
    on_page: Callable[[str, str, int], None] | None = None,
    on_note: Callable[[str], None] | None = None,
    incremental: bool = True,
) -> SnapshotInfo:
    """Take a fresh snapshot of everything the rules need (incrementally where the previous
    snapshot allows, unless ``incremental`` is False)."""
    with open_connectors(profile, rules) as connectors:
        return take_snapshot(
            profile, rules, connectors, on_page=on_page, on_note=on_note, incremental=incremental
        )


def _client(
    profile: Profile, service: Literal["fno", "dataverse"], root: str, auth: BearerAuth
) -> ODataClient:
    return ODataClient(
        service=service,
        root_url=root,
        auth=auth,
        retry=RetryPolicy(
            max_attempts=profile.http.max_attempts, max_total_wait=profile.http.max_retry_wait
        ),
        timeout=profile.http.timeout,
        page_size=profile.http.dataverse_page_size if service == "dataverse" else None,
    )


def _primary_ids(rules: RuleSet) -> dict[str, str]:
    return {
        side.entity: side.id
        for rule in rules
        for side in (rule.source, rule.target)
        if side.system == "dataverse" and side.id
    }


def _fno_keys(rules: RuleSet) -> dict[str, list[str]]:
    keys: dict[str, list[str]] = {}
    for rule in rules:
        if rule.target.system == "fno":
            keys[rule.target.entity] = rule.record_key()
    return keys
