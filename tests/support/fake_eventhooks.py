"""The Event Hooks Management API of the fake Okta (docs/okta.md §6), mounted by ``FakeOkta``.

Hooks live in memory. Answers have Okta's shapes: a created hook is ``ACTIVE`` and
``UNVERIFIED``; ``authScheme.value`` is never returned and its ``key`` comes back in lower case
(as in Okta's examples); a PUT that changes the channel makes the hook ``UNVERIFIED`` again.
Verification is done the way Okta does it: a real ``GET`` to the hook's URL with
``X-Okta-Verification-Challenge``, the hook's authentication header and custom headers, a 3 s
timeout and one retry; a wrong answer is ``400 E0000001`` with Okta's "Unable to verify event
hook" cause. ``deliver`` POSTs events to every ACTIVE and VERIFIED hook subscribed to them.

Beyond what Okta documents (docs/okta.md §6, "Gaps"), the fake refuses event types the catalog
does not tag hook-eligible and a PUT without the secret, so a client that relies on either fails.
"""

from __future__ import annotations

import copy
import secrets
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from okta_alerts.config import is_loopback
from okta_alerts.okta.eventcatalog import load_catalog

BASE = "/api/v1/eventHooks"
FAILURES_ONLY = "event.outcome.result eq 'FAILURE'"


@dataclass
class Verification:
    """One verification GET the fake sent, as the receiver saw it."""

    url: str
    headers: dict[str, str]
    status: int | None
    ok: bool


@dataclass
class FakeEventHooks:
    error: Callable[..., Response]  # FakeOkta's error answer: (seen, status, code, summary, cause)
    authorized: Callable[[Request], bool]
    org_url: str
    read_only: bool = False  # a token with okta.eventHooks.read only: changes get 403
    hooks: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> hook, secret included
    calls: list[tuple[str, str]] = field(default_factory=list)  # (method, path)
    verifications: list[Verification] = field(default_factory=list)

    def routes(self) -> list[Route]:
        return [
            Route(BASE, self._collection, methods=["GET", "POST"]),
            Route(BASE + "/{id}", self._one, methods=["GET", "PUT", "DELETE"]),
            Route(BASE + "/{id}/lifecycle/{action}", self._lifecycle, methods=["POST"]),
        ]

    def changes(self) -> list[tuple[str, str]]:
        """The calls that changed something (everything but GET)."""
        return [c for c in self.calls if c[0] != "GET"]

    # -- endpoints ----------------------------------------------------------------------------

    async def _collection(self, request: Request) -> Response:
        refused = self._refused(request)
        if refused:
            return refused
        if request.method == "GET":
            return _json([self.public(h) for h in self.hooks.values()])
        body = orjson.loads(await request.body())
        problem = self._invalid(body)
        if problem:
            return self._validation(problem)
        now = _now()
        hook = {**body, "id": "who" + secrets.token_hex(8), "created": now, "lastUpdated": now}
        hook.update(status="ACTIVE", verificationStatus="UNVERIFIED")
        self.hooks[hook["id"]] = hook
        return _json(self.public(hook))

    async def _one(self, request: Request) -> Response:
        refused = self._refused(request)
        if refused:
            return refused
        hook = self.hooks.get(request.path_params["id"])
        if hook is None:
            return self.error(None, 404, "E0000007", f"Not found: {request.path_params['id']}")
        if request.method == "GET":
            return _json(self.public(hook))
        if request.method == "DELETE":
            if hook["status"] != "INACTIVE":
                return self._validation("only INACTIVE event hooks can be deleted")
            del self.hooks[hook["id"]]
            return Response(status_code=204)
        body = orjson.loads(await request.body())
        problem = self._invalid(body)
        if problem:
            return self._validation(problem)
        if body["channel"] != hook["channel"]:
            hook["verificationStatus"] = "UNVERIFIED"
        hook.update(name=body["name"], events=body["events"], channel=body["channel"])
        hook.update(description=body.get("description"), lastUpdated=_now())
        return _json(self.public(hook))

    async def _lifecycle(self, request: Request) -> Response:
        refused = self._refused(request)
        if refused:
            return refused
        hook = self.hooks.get(request.path_params["id"])
        action = request.path_params["action"]
        if hook is None:
            return self.error(None, 404, "E0000007", f"Not found: {request.path_params['id']}")
        if action == "verify":
            if not await self._verify(hook):
                return self.error(
                    None,
                    400,
                    "E0000001",
                    "Api validation failed: eventHook",
                    f"Unable to verify event hook. Hook {hook['name']} execution failed",
                )
            hook["verificationStatus"] = "VERIFIED"
        elif action in ("activate", "deactivate"):
            hook["status"] = "ACTIVE" if action == "activate" else "INACTIVE"
        else:
            return self.error(None, 404, "E0000007", f"Not found: {action}")
        return _json(self.public(hook))

    # -- what Okta does -----------------------------------------------------------------------

    async def _verify(self, hook: dict[str, Any]) -> bool:
        """Okta's one-time GET: the challenge, the hook's headers, 3 s, one retry."""
        config = hook["channel"]["config"]
        challenge = secrets.token_urlsafe(16)
        headers = {
            **_headers(hook),
            "X-Okta-Verification-Challenge": challenge,
            "User-Agent": "Okta-Integrations",
            "Accept": "application/json",
            "X-Okta-Request-Id": secrets.token_hex(10),
        }
        for _ in range(2):
            status, ok = None, False
            try:
                async with httpx.AsyncClient(timeout=3.0) as client:
                    answer = await client.get(config["uri"], headers=headers)
                status = answer.status_code
                ok = status == 200 and answer.json().get("verification") == challenge
            except (httpx.HTTPError, ValueError, AttributeError):
                pass
            self.verifications.append(Verification(config["uri"], headers, status, ok))
            if ok:
                return True
        return False

    def deliver(self, events: Iterable[dict[str, Any]]) -> list[int]:
        """POST ``events`` to each ACTIVE and VERIFIED hook subscribed to them (one delivery per
        hook, as Okta batches), after its filters; the HTTP statuses of the deliveries."""
        statuses = []
        for hook in self.hooks.values():
            if hook["status"] != "ACTIVE" or hook["verificationStatus"] != "VERIFIED":
                continue
            sent = [e for e in events if _wanted(hook, e)]
            if not sent:
                continue
            envelope = {
                "eventType": "com.okta.event_hook",
                "eventTypeVersion": "1.0",
                "cloudEventsVersion": "0.1",
                "source": f"{self.org_url}{BASE}/{hook['id']}",
                "eventId": str(uuid.uuid4()),
                "eventTime": _now(),
                "contentType": "application/json",
                "data": {"events": sent},
            }
            answer = httpx.post(
                hook["channel"]["config"]["uri"],
                content=orjson.dumps(envelope),
                headers={**_headers(hook), "Content-Type": "application/json"},
                timeout=3.0,
            )
            statuses.append(answer.status_code)
        return statuses

    # -- checks and shapes --------------------------------------------------------------------

    def _refused(self, request: Request) -> Response | None:
        self.calls.append((request.method, request.url.path))
        if not self.authorized(request):
            return self.error(None, 401, "E0000011", "Invalid token provided")
        if self.read_only and request.method != "GET":
            return self.error(
                None, 403, "E0000006", "You do not have permission to perform the requested action"
            )
        return None

    def _invalid(self, body: Any) -> str | None:
        catalog = load_catalog()
        events = body.get("events") or {}
        items = events.get("items") or []
        config = (body.get("channel") or {}).get("config") or {}
        auth = config.get("authScheme") or {}
        uri = httpx.URL(str(config.get("uri", "")))
        if not body.get("name") or events.get("type") != "EVENT_TYPE" or not items:
            return "name, events.type EVENT_TYPE and events.items are required"
        not_eligible = [i for i in items if not catalog.eligible(i)]
        if not_eligible:
            return f"event types not eligible for event hooks: {', '.join(not_eligible)}"
        if uri.scheme != "https" and not (uri.scheme == "http" and is_loopback(uri.host)):
            return "channel.config.uri must begin with https://"
        if auth.get("type") != "HEADER" or not auth.get("key") or not auth.get("value"):
            return "channel.config.authScheme needs type HEADER, a key and a value"
        return None

    def _validation(self, cause: str) -> Response:
        return self.error(None, 400, "E0000001", "Api validation failed: eventHook", cause)

    def public(self, hook: dict[str, Any]) -> dict[str, Any]:
        """The hook as Okta answers it: no secret, the header name in lower case."""
        shown = copy.deepcopy(hook)
        config = shown["channel"]["config"]
        config["authScheme"] = {"type": "HEADER", "key": config["authScheme"]["key"].lower()}
        config.setdefault("headers", [])
        config["method"] = "POST"
        shown["events"].setdefault("filter", None)
        shown["_links"] = {"self": {"href": f"{self.org_url}{BASE}/{hook['id']}"}}
        return shown


def _headers(hook: dict[str, Any]) -> dict[str, str]:
    config = hook["channel"]["config"]
    headers = {h["key"]: h["value"] for h in config.get("headers") or []}
    headers[config["authScheme"]["key"]] = config["authScheme"]["value"]
    return headers


def _wanted(hook: dict[str, Any], event: dict[str, Any]) -> bool:
    if event["eventType"] not in hook["events"]["items"]:
        return False
    filters = (hook["events"].get("filter") or {}).get("eventFilterMap") or []
    for item in filters:
        if item["event"] == event["eventType"]:
            assert item["condition"]["expression"] == FAILURES_ONLY, "the fake knows this one only"
            return bool((event.get("outcome") or {}).get("result") == "FAILURE")
    return True


def _json(body: Any) -> Response:
    return Response(orjson.dumps(body), media_type="application/json")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
