"""One error hierarchy for the whole tool.

Every error says what failed, where, and how to fix it; the CLI prints ``str(error)`` and
exits 1. Secrets never appear in any message.

    ReconcilerError
    ├── ConfigError            profile file: missing/invalid setting, unknown env var
    ├── RuleError              rules/*.toml: file, rule and field named
    ├── AuthError              token acquisition: tenant, client id, resource named
    ├── ServiceError           an HTTP call to SCM or FS failed (status, code, message, innererror)
    │   ├── ThrottledError     gave up after repeated 429/503/connection failures
    │   ├── OutcomeUnknownError  a write may have reached the service, but no answer came back
    │   ├── PreconditionFailedError  412: the row changed since its ETag was read
    │   └── TokenRejectedError  401: the service refused a token that Entra ID issued
    ├── SnapshotError          a snapshot file is missing, incomplete or unreadable
    └── PlanError              a plan file is malformed or does not fit the current rules/profile
        └── StalePlanError     plan made from other rules or another profile
"""

from __future__ import annotations

__all__ = [
    "AuthError",
    "ConfigError",
    "OutcomeUnknownError",
    "PlanError",
    "PreconditionFailedError",
    "ReconcilerError",
    "RuleError",
    "ServiceError",
    "SnapshotError",
    "StalePlanError",
    "ThrottledError",
    "TokenRejectedError",
]


class ReconcilerError(Exception):
    """Base of every error the tool raises on purpose."""


class ConfigError(ReconcilerError):
    """The profile is missing, unreadable or has an invalid setting."""


class RuleError(ReconcilerError):
    """A rule file is invalid; the message names file, rule and field."""


class AuthError(ReconcilerError):
    """A token could not be acquired; names tenant, client id and resource, never the secret."""


class ServiceError(ReconcilerError):
    """An OData call failed with an HTTP error or an unreadable payload."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str = "",
        service_message: str = "",
        inner_message: str = "",
        method: str = "",
        url: str = "",
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.service_message = service_message
        self.inner_message = inner_message
        self.method = method
        self.url = url


class ThrottledError(ServiceError):
    """Retries on 429/503/connection errors were exhausted."""


class OutcomeUnknownError(ServiceError):
    """A non-idempotent request may have been applied; re-read the target before retrying."""


class PreconditionFailedError(ServiceError):
    """412: ``If-Match`` no longer matches, so the row changed since it was read."""


class TokenRejectedError(ServiceError):
    """401: the token was issued but the service does not accept this application."""


class SnapshotError(ReconcilerError):
    """A snapshot file is missing, incomplete or unreadable."""


class PlanError(ReconcilerError):
    """A plan file is malformed or of an unsupported format version."""


class StalePlanError(PlanError):
    """The plan was made from other rules or another profile than the ones in use."""
