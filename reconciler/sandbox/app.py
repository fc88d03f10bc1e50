"""Wiring: one Starlette app serving the identity endpoints (``/login``), F&O (``/fno``) and
Dataverse (``/dataverse``) for a Sandbox."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from reconciler.sandbox.dataverse import DataverseService
from reconciler.sandbox.fno import FnoService
from reconciler.sandbox.gateway import ServiceGateway, to_starlette
from reconciler.sandbox.identity import TokenEndpoint, openid_configuration
from reconciler.sandbox.world import Sandbox

FNO_ROOT = "/fno/data/"
DATAVERSE_ROOT = "/dataverse/api/data/v9.2/"
_METHODS = ["GET", "POST", "PATCH", "PUT", "DELETE"]


def _fno_gateway(sandbox: Sandbox) -> ServiceGateway:
    service = FnoService(
        sandbox.fno,
        lambda: sandbox.config.fno_page_size,
        sandbox.atomic,
        lambda count: sandbox.stats.batch_parts.update({"fno": count}),
    )
    return ServiceGateway(sandbox, "fno", FNO_ROOT, service.handle)


def _dataverse_gateway(sandbox: Sandbox) -> ServiceGateway:
    service = DataverseService(
        sandbox.dataverse,
        lambda: sandbox.config.dataverse_max_page_size,
        sandbox.organization_id,
        sandbox.atomic,
        lambda count: sandbox.stats.batch_parts.update({"dataverse": count}),
        lambda: sandbox.config.change_tracking_retention_s,
    )
    return ServiceGateway(sandbox, "dataverse", DATAVERSE_ROOT, service.handle)


def _identity_routes(sandbox: Sandbox) -> list[Route]:
    def count(audience: str) -> None:
        sandbox.stats.token_requests[audience] += 1

    endpoint = TokenEndpoint(sandbox.config, sandbox.tokens, count)

    async def discovery(request: Request) -> Response:
        return to_starlette(openid_configuration(sandbox.config, request.path_params["tenant"]))

    async def token(request: Request) -> Response:
        host = request.headers.get("host", "")
        body = await request.body()
        return to_starlette(endpoint.handle(request.path_params["tenant"], host, body))

    return [
        Route("/login/{tenant}/v2.0/.well-known/openid-configuration", discovery, methods=["GET"]),
        Route("/login/{tenant}/oauth2/v2.0/token", token, methods=["POST"]),
    ]


def create_app(sandbox: Sandbox) -> Starlette:
    """The ASGI app; each call builds fresh service objects over the same world."""
    fno = _fno_gateway(sandbox)
    dataverse = _dataverse_gateway(sandbox)
    routes = [
        *_identity_routes(sandbox),
        Route("/fno/data", fno.handle, methods=_METHODS),
        Route("/fno/data/{rest:path}", fno.handle, methods=_METHODS),
        Route("/dataverse/api/data/v9.2", dataverse.handle, methods=_METHODS),
        Route("/dataverse/api/data/v9.2/{rest:path}", dataverse.handle, methods=_METHODS),
    ]
    return Starlette(routes=routes)
