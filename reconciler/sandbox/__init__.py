"""Local emulator of Dynamics 365 F&O OData, the Dataverse Web API and the Entra ID token
endpoint, served by one ASGI app on a loopback port.

It is written independently of the client code (``reconciler.odata``, ``reconciler.auth``,
connectors): key escaping, paging, filters and batch parsing are implemented here from the
protocol reference, so that one misunderstanding is not shared by both sides.
"""

from reconciler.sandbox.app import create_app
from reconciler.sandbox.config import SandboxConfig
from reconciler.sandbox.dataverse_store import DataverseStore
from reconciler.sandbox.fno_store import FnoStore
from reconciler.sandbox.protection import Faults
from reconciler.sandbox.server import RunningSandbox, serve_forever, start
from reconciler.sandbox.state import Stats
from reconciler.sandbox.world import Sandbox

__all__ = [
    "DataverseStore",
    "Faults",
    "FnoStore",
    "RunningSandbox",
    "Sandbox",
    "SandboxConfig",
    "Stats",
    "create_app",
    "serve_forever",
    "start",
]
