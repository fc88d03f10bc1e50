"""Profile loading: where SCM and FS live, how to authenticate, how companies map.

A profile is a TOML file. Secrets are never in it: it names the environment variable that
holds the client secret (or a certificate file). Relative paths resolve against the
profile's own folder, so a profile can travel with its rules.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from reconciler.errors import ConfigError
from reconciler.report.model import Severity

__all__ = [
    "SANDBOX_SECRET_ENV",
    "EngineSettings",
    "HttpSettings",
    "Profile",
    "load_profile",
    "profile_identity",
    "resolve_secret",
    "sandbox_profile_text",
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ServiceSection(_Strict):
    url: str

    @field_validator("url")
    @classmethod
    def _absolute_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("https", "http") or not parts.netloc:
            raise ValueError(f"must be an absolute https URL, got {value!r}")
        if parts.scheme == "http" and not is_loopback(value):
            raise ValueError(f"plain http is allowed for loopback emulators only, got {value!r}")
        return value.rstrip("/")


class AuthSection(_Strict):
    tenant_id: str = Field(min_length=1)
    client_id: str = Field(min_length=1)
    client_secret_env: str | None = None
    certificate_path: str | None = None
    certificate_password_env: str | None = None
    authority_host: str = "https://login.microsoftonline.com"
    identity_endpoint: str | None = None


class PathsSection(_Strict):
    rules: str = "rules"
    snapshots: str = "snapshots"


class HttpSettings(_Strict):
    timeout: float = Field(default=120.0, gt=0)
    max_attempts: int = Field(default=8, ge=1, le=50)
    max_retry_wait: float = Field(default=600.0, ge=0)
    dataverse_page_size: int = Field(default=5000, ge=1, le=5000)
    batch_size: int = Field(default=100, ge=1, le=1000)
    """Operations per $batch when applying (Dataverse allows 1,000)."""
    concurrency: int = Field(default=4, ge=1, le=52)
    """$batch requests in flight when applying (Dataverse allows 52 per user)."""


DuckConfig = dict[str, str | bool | int | float | list[str]]


class EngineSettings(_Strict):
    """DuckDB limits for snapshot and plan work; beyond ``memory_limit`` DuckDB spills to disk."""

    memory_limit: str = Field(
        default="3GB", pattern=r"^\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$"
    )
    threads: int | None = Field(default=None, ge=1, le=256)

    def duckdb_config(self) -> DuckConfig:
        config: DuckConfig = {"memory_limit": self.memory_limit}
        if self.threads:
            config["threads"] = self.threads
        return config


class _ProfileFile(_Strict):
    name: str = "default"
    fno: ServiceSection
    dataverse: ServiceSection
    auth: AuthSection
    companies: dict[str, str] = Field(default_factory=dict)
    paths: PathsSection = PathsSection()
    http: HttpSettings = HttpSettings()
    engine: EngineSettings = EngineSettings()
    severity: dict[str, Severity] = Field(default_factory=dict)
    """Finding name -> "error" | "warning" | "info" (see reconciler.severity)."""

    @field_validator("severity")
    @classmethod
    def _finding_names(cls, value: dict[str, Severity]) -> dict[str, Severity]:
        for name in value:
            if not _FINDING_NAME.match(name):
                raise ValueError(f"{name!r} is not a finding name (lower case letters, digits, _)")
        return value


_FINDING_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class Profile:
    """A validated profile with paths resolved; holds no secret values."""

    path: Path
    name: str
    fno_url: str
    dataverse_url: str
    tenant_id: str
    client_id: str
    client_secret_env: str | None
    certificate_path: Path | None
    certificate_password_env: str | None
    authority_host: str
    identity_endpoint: str | None
    companies: dict[str, str]
    rules_dir: Path
    snapshots_dir: Path
    http: HttpSettings = field(default_factory=HttpSettings)
    engine: EngineSettings = field(default_factory=EngineSettings)
    severity: dict[str, Severity] = field(default_factory=dict)
    """The profile's ``[severity]`` overrides: finding name -> severity."""

    def company_for_business_unit(self) -> dict[str, str]:
        """FS company value (lower case) -> SCM legal entity, for mapping FS rows back."""
        return {value.lower(): company for company, value in self.companies.items()}


def is_loopback(url: str) -> bool:
    """True when the URL's host is a loopback address or ``localhost``."""
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def load_profile(path: Path) -> Profile:
    """Read and validate a profile; every problem names the file and the setting to fix."""
    raw = _read_toml(path)
    try:
        parsed = _ProfileFile.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(_describe_validation(path, exc)) from None
    auth = parsed.auth
    _check_credential_source(path, auth)
    if auth.identity_endpoint is not None and not is_loopback(auth.identity_endpoint):
        raise ConfigError(
            f"{path}: auth.identity_endpoint is for local emulators and must be a loopback URL, "
            f"got {auth.identity_endpoint!r}. Remove it to use {auth.authority_host}."
        )
    base = path.parent
    return Profile(
        path=path,
        name=parsed.name,
        fno_url=parsed.fno.url,
        dataverse_url=parsed.dataverse.url,
        tenant_id=auth.tenant_id,
        client_id=auth.client_id,
        client_secret_env=auth.client_secret_env,
        certificate_path=(base / auth.certificate_path) if auth.certificate_path else None,
        certificate_password_env=auth.certificate_password_env,
        authority_host=auth.authority_host.rstrip("/"),
        identity_endpoint=auth.identity_endpoint.rstrip("/") if auth.identity_endpoint else None,
        companies={key.lower(): value for key, value in parsed.companies.items()},
        rules_dir=base / parsed.paths.rules,
        snapshots_dir=base / parsed.paths.snapshots,
        http=parsed.http,
        engine=parsed.engine,
        severity=dict(parsed.severity),
    )


def resolve_secret(profile: Profile) -> tuple[str | None, str | None]:
    """Read the client secret (or certificate password) from the environment.

    Returns ``(secret, certificate_password)``; raises ConfigError naming the variable when
    it is unset, so a missing secret never silently becomes an empty string.
    """
    secret = _env_value(profile, profile.client_secret_env)
    password = _env_value(profile, profile.certificate_password_env)
    return secret, password


def profile_identity(profile: Profile) -> dict[str, str]:
    """What a plan records about the profile, so apply can refuse a plan made elsewhere."""
    return {
        "name": profile.name,
        "fno_url": profile.fno_url,
        "dataverse_url": profile.dataverse_url,
        "tenant_id": profile.tenant_id,
    }


def _env_value(profile: Profile, name: str | None) -> str | None:
    if name is None:
        return None
    value = os.environ.get(name)
    if not value:
        raise ConfigError(
            f"{profile.path}: the environment variable {name} (named by the profile) is not set. "
            f"Export it with the app registration's secret for client {profile.client_id}."
        )
    return value


def _check_credential_source(path: Path, auth: AuthSection) -> None:
    if (auth.client_secret_env is None) == (auth.certificate_path is None):
        raise ConfigError(
            f"{path}: [auth] needs exactly one of client_secret_env (the NAME of an environment "
            "variable holding the secret) or certificate_path (a PEM with key and certificate)."
        )


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(
            f"profile {path} does not exist. Create one (see README, 'Profiles') or run "
            "`reconcile sandbox serve --profile-out FILE` for a local one."
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"profile {path} cannot be read: {exc.strerror}") from None


def _describe_validation(path: Path, exc: ValidationError) -> str:
    lines = [f"{path}: invalid profile:"]
    for error in exc.errors():
        where = ".".join(str(part) for part in error["loc"])
        lines.append(f"  {where}: {error['msg']}")
    return "\n".join(lines)


SANDBOX_SECRET_ENV = "RECONCILE_SANDBOX_SECRET"


def sandbox_profile_text(values: dict[str, Any], *, rules_dir: Path, snapshots_dir: Path) -> str:
    """A profile pointing at a running sandbox; the secret stays in SANDBOX_SECRET_ENV."""
    companies = values.get("companies", {})
    assert isinstance(companies, dict)
    company_lines = "\n".join(f'{name} = "{guid}"' for name, guid in sorted(companies.items()))
    return f"""# Profile for the local sandbox, written by `reconcile sandbox serve` or `demo`.
# The client secret is read from ${SANDBOX_SECRET_ENV}; it is never stored here.
name = "sandbox"

[fno]
url = "{values["fno_url"]}"

[dataverse]
url = "{values["dataverse_url"]}"

[auth]
tenant_id = "{values["tenant_id"]}"
client_id = "{values["client_id"]}"
client_secret_env = "{SANDBOX_SECRET_ENV}"
# Local emulator: MSAL's identity traffic goes to the sandbox instead of Entra ID.
identity_endpoint = "{values["identity_url"]}"

[companies]
{company_lines}

[paths]
rules = {json.dumps(str(rules_dir))}
snapshots = {json.dumps(str(snapshots_dir))}
"""
