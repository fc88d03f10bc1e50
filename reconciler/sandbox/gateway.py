"""The per-request pipeline in front of each service: count, authenticate, apply service
protection (Dataverse), apply injected faults, then hand an ApiRequest to the service.
A ``drop_*`` fault ends in a DroppedConnection instead of an answer (connection_drop.py)."""

from __future__ import annotations

from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import Response

from reconciler.sandbox.connection_drop import DroppedConnection
from reconciler.sandbox.identity import AUTHORITY_HOST, IssuedToken
from reconciler.sandbox.keys import decode_path
from reconciler.sandbox.messages import ApiRequest, ApiResponse, Headers
from reconciler.sandbox.protection import (
    BEHAVIOURS,
    Drop,
    Service,
    throttled_response,
)
from reconciler.sandbox.world import Sandbox

Handler = Callable[[ApiRequest], ApiResponse]


def to_starlette(response: ApiResponse) -> Response:
    """Starlette response keeping repeated headers (e.g. two ``Preference-Applied``)."""
    result = Response(content=response.body, status_code=response.status)
    for name, value in response.headers:
        result.headers.append(name, value)
    return result


def base_url_of(request: Request) -> str:
    host = request.headers.get("host") or f"{request.url.hostname}:{request.url.port}"
    return f"{request.url.scheme}://{host}"


def _raw_target(request: Request) -> tuple[str, str]:
    """Path and query exactly as sent. The path is percent-decoded once, by keys.py; using
    the server's already-decoded path would decode key literals twice (``%2541`` -> ``A``)."""
    raw_path = request.scope.get("raw_path") or request.url.path.encode()
    query = request.scope.get("query_string", b"")
    return raw_path.decode("utf-8", "replace"), query.decode("utf-8", "replace")


class ServiceGateway:
    """ASGI endpoint for one service mounted at ``root`` (``/fno/data/``)."""

    def __init__(self, sandbox: Sandbox, service: Service, root: str, handler: Handler) -> None:
        self._sandbox = sandbox
        self._service = service
        self._root = root
        self._handler = handler

    async def handle(self, request: Request) -> Response:
        self._sandbox.stats.requests[self._service] += 1
        token = self._sandbox.tokens.validate(request.headers.get("authorization"), self._service)
        if token is None:
            return self._unauthorized(request)
        if self._service != "dataverse":
            return await self._serve(request)
        return await self._protected(request, token)

    async def _protected(self, request: Request, token: IssuedToken) -> Response:
        """Dataverse service protection (A9): per client, counted before faults."""
        protection = self._sandbox.protection
        throttle = protection.try_enter(token.client_id)
        if throttle is not None:
            self._sandbox.stats.throttled[self._service] += 1
            retry_after = self._sandbox.config.protection_retry_after
            return to_starlette(throttled_response(self._service, retry_after, throttle))
        try:
            return await self._serve(request)
        finally:
            protection.leave(token.client_id)

    async def _serve(self, request: Request) -> Response:
        path, query = _raw_target(request)
        target = f"{decode_path(path)}?{query}"
        body = await request.body()  # read first, so a drop never leaves unread bytes
        fault = self._sandbox.faults.take(self._service, target, request.method, body)
        if fault is not None:
            early = await BEHAVIOURS[fault.kind].before(fault)
            if early is not None:
                return self._answer(early)
        api_request = ApiRequest(
            method=request.method,
            path=decode_path(path[len(self._root) :] if path.startswith(self._root) else ""),
            query=query,
            headers=Headers(list(request.headers.items())),
            body=body,
            base_url=base_url_of(request),
            root=self._root,
        )
        with self._sandbox.lock:  # one operation at a time against the world
            response = self._handler(api_request)
        if fault is not None:
            return self._answer(BEHAVIOURS[fault.kind].after(fault, response))
        return to_starlette(response)

    def _answer(self, answer: ApiResponse | Drop) -> Response:
        """A fault's answer, counted in the stats it belongs to."""
        if isinstance(answer, Drop):
            self._sandbox.stats.dropped[self._service] += 1
            return DroppedConnection()
        if answer.status == 429:
            self._sandbox.stats.throttled[self._service] += 1
        return to_starlette(answer)

    def _unauthorized(self, request: Request) -> Response:
        """Dataverse: empty 401 naming the authority and resource; F&O: empty 401."""
        if self._service == "dataverse":
            tenant = self._sandbox.config.tenant_id
            resource = f"{base_url_of(request)}/dataverse/"
            challenge = (
                f"Bearer authorization_uri={AUTHORITY_HOST}/{tenant}/oauth2/authorize, "
                f"resource_id={resource}"
            )
        else:
            challenge = "Bearer"
        return Response(status_code=401, headers={"WWW-Authenticate": challenge})
