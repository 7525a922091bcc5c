"""A client of Okta's Event Hooks Management API (``/api/v1/eventHooks``, docs/okta.md §6).

It talks to the org the way the System Log client does (:mod:`okta_alerts.systemlog.client`):
the same ``Authorization`` header (``SSWS`` API token or ``Bearer`` OAuth access token), the
same rate-limit pacing and ``429`` waits, retries of ``5xx`` answers and timeouts with backoff,
and Okta's ``errorCode: errorSummary`` in every message. Creating a hook is never retried (a
lost answer could mean a second hook; rerunning ``okta connect`` finds the first by name). The
API token and the hook's secret are never logged, and are removed from any message.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, cast

import httpx
import tenacity

from okta_alerts.config import Settings
from okta_alerts.errors import ConfigError, EventHookApiError, RetryableError
from okta_alerts.systemlog.client import okta_http, org_credentials
from okta_alerts.systemlog.ratelimit import Pacer
from okta_alerts.systemlog.refusals import error_summary

log = logging.getLogger("okta_alerts.eventhooks.api")

HOOKS_PATH = "/api/v1/eventHooks"
MAX_THROTTLED = 10
Hook = dict[str, Any]


class EventHooksApi:
    """Lists, creates, replaces, verifies and activates one org's event hooks."""

    def __init__(
        self,
        org_url: str,
        token: str,
        *,
        scheme: str = "auto",
        timeout: float = 30.0,
        max_attempts: int = 4,
        backoff_initial: float = 1.0,
        sleep: Callable[[float], None] = time.sleep,
        redact: tuple[str, ...] = (),
    ) -> None:
        if not token:
            raise ConfigError(
                "no Okta API token: set OKTA_ALERTS_OKTA_API_TOKEN or pass --token-file"
            )
        self.org_url = org_url.rstrip("/")
        self.max_attempts = max_attempts
        self.backoff_initial = backoff_initial
        self._secrets = tuple(s for s in (token, *redact) if s)
        self._sleep = sleep
        self._pacer = Pacer(sleep, max_wait=120.0)
        # Okta's verify waits 3 s for the receiver and retries once before it answers.
        self._http = okta_http(token, scheme, timeout, base_url=self.org_url)

    @classmethod
    def from_settings(cls, settings: Settings, **options: Any) -> EventHooksApi:
        org_url, token = org_credentials(settings)
        secret = settings.auth_secret.get_secret_value() if settings.auth_secret else ""
        return cls(
            org_url,
            token,
            scheme=settings.okta_auth_scheme,
            redact=(secret,),
            **options,
        )

    def __enter__(self) -> EventHooksApi:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # -- the operations -----------------------------------------------------------------------

    def hooks(self) -> list[Hook]:
        found = self._call("GET", HOOKS_PATH)
        if not isinstance(found, list):
            raise EventHookApiError(
                f"{self.org_url}{HOOKS_PATH} did not answer a list of event hooks; is "
                "OKTA_ALERTS_OKTA_ORG_URL your Okta org's URL?"
            )
        return [h for h in found if isinstance(h, dict)]

    def find(self, name: str) -> Hook | None:
        """The hook named ``name``, or None; an error when several share it."""
        hooks = [h for h in self.hooks() if h.get("name") == name]
        if len(hooks) > 1:
            ids = ", ".join(str(h.get("id")) for h in hooks)
            raise EventHookApiError(
                f"{len(hooks)} event hooks are named {name!r} ({ids}); delete the extra ones in "
                "the Admin Console (Workflow > Event Hooks) or pass another --name"
            )
        return hooks[0] if hooks else None

    def create(self, body: Hook) -> Hook:
        return self._hook(self._call("POST", HOOKS_PATH, body, retry=False))

    def replace(self, hook_id: str, body: Hook) -> Hook:
        return self._hook(self._call("PUT", f"{HOOKS_PATH}/{hook_id}", body))

    def verify(self, hook_id: str) -> Hook:
        """Ask Okta to verify the hook (it calls the receiver's GET); raises on a failure."""
        return self._hook(self._call("POST", f"{HOOKS_PATH}/{hook_id}/lifecycle/verify"))

    def activate(self, hook_id: str) -> Hook:
        return self._hook(self._call("POST", f"{HOOKS_PATH}/{hook_id}/lifecycle/activate"))

    # -- one call -----------------------------------------------------------------------------

    def _call(self, method: str, path: str, body: Hook | None = None, retry: bool = True) -> Any:
        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception_type(RetryableError),
            stop=tenacity.stop_after_attempt(self.max_attempts if retry else 1),
            wait=tenacity.wait_exponential(multiplier=self.backoff_initial, max=30.0),
            sleep=self._sleep,
            reraise=True,
        )
        try:
            for attempt in retrying:
                with attempt:
                    return self._call_once(method, path, body)
        except RetryableError as exc:
            again = "" if retry else " (not retried: run the command again, it finds the hook)"
            raise EventHookApiError(
                self.redact(f"Okta's Event Hooks API at {self.org_url} failed: {exc}{again}")
            ) from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _call_once(self, method: str, path: str, body: Hook | None) -> Any:
        for _ in range(MAX_THROTTLED):
            self._pacer.pace()
            try:
                response = self._http.request(method, path, json=body)
            except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as exc:
                raise RetryableError(f"{type(exc).__name__} on {method} {path}") from None
            if response.status_code == 429:
                self._pacer.throttled(response, default=self.backoff_initial)
                continue
            if response.status_code >= 500:
                raise RetryableError(f"HTTP {response.status_code} {error_summary(response)}")
            if response.status_code >= 300:
                summary = self.redact(error_summary(response))
                message = self.redact(self._refusal(method, path, response))
                raise EventHookApiError(message, response.status_code, summary)
            self._pacer.plan(response)
            try:
                return response.json() if response.content else None
            except ValueError:
                raise EventHookApiError(
                    f"{self.org_url}{path} did not answer JSON; is OKTA_ALERTS_OKTA_ORG_URL "
                    "your Okta org's URL?"
                ) from None
        raise EventHookApiError(
            f"Okta kept answering 429 (rate limited) {MAX_THROTTLED} times in a row on {path}; "
            "try again in a minute"
        )

    def _refusal(self, method: str, path: str, response: httpx.Response) -> str:
        status = response.status_code
        what = f"Okta answered HTTP {status} to {method} {path} ({error_summary(response)})"
        scope = "okta.eventHooks.read" if method == "GET" else "okta.eventHooks.manage"
        if status == 401:
            return (
                f"{what}: the API token was not accepted; check OKTA_ALERTS_OKTA_API_TOKEN or "
                "--token-file (and OKTA_ALERTS_OKTA_AUTH_SCHEME if the scheme was guessed wrong)"
            )
        if status == 403:
            return (
                f"{what}: the token may not manage event hooks; it needs the {scope} scope "
                "(an OAuth access token) or must belong to a super admin (an SSWS API token)"
            )
        if status == 404:
            return f"{what}: is OKTA_ALERTS_OKTA_ORG_URL ({self.org_url}) your Okta org's URL?"
        return what

    def _hook(self, found: Any) -> Hook:
        if not isinstance(found, dict):
            raise EventHookApiError(f"Okta did not answer an event hook object ({type(found)})")
        return cast("Hook", found)

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text
