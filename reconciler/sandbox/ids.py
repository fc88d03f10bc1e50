"""Deterministic GUIDs, so that seeds and identities are reproducible run to run."""

from __future__ import annotations

import uuid

SANDBOX_NAMESPACE = uuid.UUID("6f0c2a4e-5b7d-4c1e-9a3f-2d8e7b6a5c41")


def derived_id(*parts: str) -> str:
    """A stable GUID (uuid5) for a path of names."""
    return str(uuid.uuid5(SANDBOX_NAMESPACE, "/".join(parts)))
