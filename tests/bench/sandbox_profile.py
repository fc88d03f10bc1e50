"""The profile a benchmark uses to reach a running sandbox (secret in the environment)."""

from __future__ import annotations

import os
from pathlib import Path

from reconciler.config import SANDBOX_SECRET_ENV, Profile, load_profile, sandbox_profile_text
from reconciler.rules import default_rules_dir
from reconciler.sandbox import RunningSandbox


def profile_for(server: RunningSandbox, folder: Path) -> Profile:
    """Write a profile pointing at ``server`` into ``folder`` (snapshots beside it)."""
    values = server.profile_values()
    os.environ[SANDBOX_SECRET_ENV] = str(values["client_secret"])
    path = folder / "profile.toml"
    path.write_text(
        sandbox_profile_text(
            values, rules_dir=default_rules_dir(), snapshots_dir=folder / "snapshots"
        )
    )
    return load_profile(path)
