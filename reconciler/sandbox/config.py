"""Knobs of the emulated world (tenant, credentials, paging and protection limits)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class SandboxConfig:
    """Defaults mirror the real services (api-protocols.md A2, A9, B3) so that tests exercise
    the same limits a client meets in production; tests shrink them to stay fast."""

    tenant_id: str = "00000000-0000-4000-8000-00000000a11c"
    client_id: str = "11111111-1111-4111-8111-111111111111"
    client_secret: str = "sandbox-secret"
    fno_page_size: int = 10_000
    dataverse_max_page_size: int = 5_000
    dataverse_request_limit: int = 6_000
    dataverse_window_seconds: float = 300.0
    dataverse_concurrency_limit: int = 52
    protection_retry_after: int = 1
    token_lifetime_seconds: int = 3600
    fno_default_company: str = "usmf"
    # Dataverse change-tracking token lifetime: ExpireChangeTrackingInDays, 7 days (A8).
    change_tracking_retention_s: float = 7 * 24 * 3600.0
