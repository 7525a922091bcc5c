"""Okta's shared-secret header check (Okta does not sign payloads; this header is all there is)."""

from __future__ import annotations

import hmac
from collections.abc import Mapping

from okta_alerts.errors import ConfigError


class HookAuth:
    """Validates its configuration when built; decides per request in constant time."""

    def __init__(
        self,
        header: str,
        secret: str | None,
        custom_headers: Mapping[str, str] | None = None,
        insecure_no_auth: bool = False,
    ) -> None:
        if secret is None and not insecure_no_auth:
            raise ConfigError(
                "OKTA_ALERTS_AUTH_SECRET is not set: set it to the Authentication secret you "
                "enter in Okta's event hook, or pass --insecure-no-auth for local tests only"
            )
        if secret is not None and not secret.strip():
            raise ConfigError("OKTA_ALERTS_AUTH_SECRET is empty; choose a long random value")
        expected = [(header, secret)] if secret is not None else []
        expected += list((custom_headers or {}).items())
        self._expected = [(name.lower(), name, value.encode()) for name, value in expected]

    def failure(self, headers: Mapping[str, str]) -> str | None:
        """The name of the first header that is missing or wrong, or None if all match.

        Every expected header is compared, whatever fails first, so timing says nothing.
        """
        failed = None
        for key, name, value in self._expected:
            got = headers.get(key)
            ok = hmac.compare_digest((got or "").encode(), value) and got is not None
            if not ok and failed is None:
                failed = name
        return failed
