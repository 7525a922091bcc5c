"""The receiver's Starlette app for one data dir, composed from explicit routes and a lifespan."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from okta_alerts.config import Settings
from okta_alerts.redaction import typed_names
from okta_alerts.store.writer import StoreWriter
from receiver.auth import HookAuth
from receiver.committer import GroupCommitter
from receiver.eventtimes import EventTimes
from receiver.health import Health
from receiver.hooks import HOOK_PATH, Hooks, error
from receiver.metrics import ReceiverMetrics


def create_app(settings: Settings, writer: StoreWriter, auth: HookAuth) -> Starlette:
    """The receiver over ``writer``, which must already own the store (its lock).

    The group committer starts and stops with the app's lifespan: on shutdown it commits what
    is queued and seals the journal, so readers see every acknowledged event.
    """
    metrics = ReceiverMetrics()
    committer = GroupCommitter(writer, metrics, settings.seal_seconds, settings.compact_seconds)
    times = EventTimes(metrics, settings.retention_days)
    hooks = Hooks(settings.max_body_bytes, auth, committer, metrics, times, typed_names(settings))
    health = Health(writer, committer, metrics, times, settings.seal_seconds)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        committer.start()
        health.gaps.current()
        yield
        await committer.stop()

    routes = [
        _route(HOOK_PATH, hooks.verify, "GET"),
        _route(HOOK_PATH, hooks, "POST"),
        _route("/healthz", health.healthz, "GET"),
        _route("/metrics", health.metrics_page, "GET"),
    ]
    app = Starlette(
        routes=routes, lifespan=lifespan, exception_handlers={HTTPException: _http_error}
    )
    app.state.metrics = metrics  # the server counts the connections it refuses there
    # No redirect is ever built from a request's headers: `/hooks/okta/` is a 404, not a
    # redirect to a Location taken from `Host`.
    app.router.redirect_slashes = False
    return app


def _route(path: str, endpoint: Any, method: str) -> Route:
    """A route for exactly ``method``: Starlette also routes HEAD to GET endpoints, and this
    receiver answers HEAD ``405`` like every other method it does not serve."""
    route = Route(path, endpoint, methods=[method])
    route.methods = {method}
    return route


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return error(exc.status_code, "http_error", str(exc.detail))
