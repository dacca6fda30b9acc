"""The fake's HTTP side: how each request is recorded, faulted, checked and answered.

Every request runs the same pipeline: record it, draw a fault, then (unless the fault answers
instead) check the token, count it against the rate limit, check ``Intercom-Version`` and route.
"""

from __future__ import annotations

import asyncio
import json
import urllib.parse
import uuid
from collections.abc import Callable
from email.utils import formatdate

from aiohttp import web

from ._faults import FaultPlan, RateLimiter, fault_answer
from ._store import Store
from ._wire import ApiError, RecordedRequest, parse_json

__all__ = ["Handler"]

_VERSIONS = frozenset(
    [f"1.{n}" for n in range(5)] + [f"2.{n}" for n in range(17)] + ["Preview", "Unstable"]
)
_JSON = "application/json; charset=utf-8"


def _error_body(request_id: str, code: str, message: str, field: str | None) -> bytes:
    errors = [{"code": code, "message": message, "field": field}]
    body = {"type": "error.list", "request_id": request_id, "errors": errors}
    return json.dumps(body).encode()


def _drop(request: web.Request) -> None:
    # Closing the transport makes aiohttp skip writing the response it is handed afterwards.
    if request.transport is not None:
        request.transport.close()


class Handler:
    """Answers requests from a :class:`Store`, with faults, a rate limit and a token."""

    def __init__(
        self,
        *,
        token: str,
        store: Store,
        faults: FaultPlan,
        limiter: RateLimiter | None,
        clock: Callable[[], float],
    ) -> None:
        self._token = token
        self._store = store
        self._faults = faults
        self._limiter = limiter
        self._clock = clock
        self.served = ""
        """The URL last served on (slow answers may finish after a stop), for ``pages.next``."""

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """Answer one request: record it, draw a fault, then check, count and route it."""
        request_id = uuid.uuid4().hex
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            error = ApiError(413, "request_too_large", "Request Entity Too Large")
            return self._error(error, self._base_headers(request_id), request_id)
        except OSError:  # the client went away mid-request: nobody to answer, nothing to log
            return web.Response(status=400)
        raw = request.raw_path
        if raw.startswith("/"):
            path, _, query_string = raw.partition("?")
        else:  # absolute-form request target, as sent to a proxy
            parts = urllib.parse.urlsplit(raw)
            path, query_string = parts.path or "/", parts.query
        recorded = RecordedRequest(
            method=request.method,
            path=path,
            query_string=query_string,
            query=urllib.parse.parse_qs(query_string, keep_blank_values=True),
            headers=self._plain_headers(request.raw_headers),
            body=body,
        )
        self._store.record(recorded)
        fault = self._faults.draw()
        if fault is not None:
            if fault.kind == "drop_before":
                _drop(request)
                return web.Response()
            if fault.kind == "slow":
                await asyncio.sleep(fault.delay)
            elif fault.kind != "drop_after":
                return self._fault_response(fault.kind, request_id)
        response = self._answer(request, recorded, request_id)
        if fault is not None and fault.kind == "drop_after":
            _drop(request)
        return response

    @staticmethod
    def _plain_headers(raw: tuple[tuple[bytes, bytes], ...]) -> dict[str, str]:
        headers: dict[str, str] = {}
        for name_bytes, value_bytes in raw:
            name, value = name_bytes.decode("latin-1"), value_bytes.decode("latin-1")
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        return headers

    def _base_headers(self, request_id: str) -> dict[str, str]:
        return {"X-Request-Id": request_id, "Date": formatdate(self._clock(), usegmt=True)}

    def _error(self, error: ApiError, headers: dict[str, str], request_id: str) -> web.Response:
        body = _error_body(request_id, error.code, error.message, error.field)
        headers["Content-Type"] = _JSON
        return web.Response(status=error.status, body=body, headers=headers)

    def _answer(
        self, request: web.Request, recorded: RecordedRequest, request_id: str
    ) -> web.Response:
        headers = self._base_headers(request_id)
        try:
            scheme, _, credential = request.headers.get("Authorization", "").partition(" ")
            if scheme.lower() != "bearer" or credential != self._token:
                raise ApiError(401, "unauthorized", "Access Token Invalid")
            if self._limiter is not None:
                allowed, limit_headers = self._limiter.hit()
                headers.update(limit_headers)
                if not allowed:
                    message = f"Exceeded rate limit of {self._limiter.limit} in 10_seconds"
                    raise ApiError(429, "rate_limit_exceeded", message)
            version = request.headers.get("Intercom-Version")
            if version is not None and version not in _VERSIONS:
                message = f"Requested version {version!r} is not valid"
                raise ApiError(400, "intercom_version_invalid", message)
            return self._route(request.method, request.path, recorded, headers)
        except ApiError as error:
            return self._error(error, headers, request_id)

    def _route(
        self, method: str, path: str, recorded: RecordedRequest, headers: dict[str, str]
    ) -> web.Response:
        if (method, path) == ("POST", "/events"):
            self._store.create_event(parse_json(recorded.body))
            return web.Response(status=202, headers=headers)
        if (method, path) == ("GET", "/events"):
            payload = self._store.list_events(recorded.query, self.served, now=self._clock())
            headers["Content-Type"] = _JSON
            return web.Response(status=200, body=json.dumps(payload).encode(), headers=headers)
        if (method, path) == ("POST", "/events/summaries"):
            self._store.create_summaries(parse_json(recorded.body))
            return web.Response(status=200, headers=headers)
        raise ApiError(404, "not_found", "Resource Not Found")

    def _fault_response(self, kind: str, request_id: str) -> web.Response:
        limit = self._limiter.limit if self._limiter is not None else None
        answer = fault_answer(kind, limit=limit, now=self._clock(), url=self.served)
        headers = self._base_headers(request_id) | answer.headers
        if answer.error is not None:
            error = ApiError(answer.status, *answer.error)
            return self._error(error, headers, request_id)
        if answer.html is not None:
            headers["Content-Type"] = "text/html; charset=utf-8"
        return web.Response(status=answer.status, text=answer.html, headers=headers)
