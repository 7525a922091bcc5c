"""Okta System Log LogEvents as plain dicts, shaped like docs/okta.md §3, quirks included.

Every call builds fresh dicts (no sharing between events), straight from literals: the simulator
makes millions of these, so no templates are deep-copied.
"""

from __future__ import annotations

import random
from binascii import b2a_base64
from datetime import UTC, datetime
from typing import Any, NamedTuple, TypedDict

from okta_alerts.sim.population import Agent, App, Group, Network, Place, User

Event = dict[str, Any]  # a LogEvent as its JSON decodes

SAFE = (
    "{New Geo-Location=NEGATIVE, New Device=NEGATIVE, New IP=NEGATIVE, New State=NEGATIVE, "
    "New Country=NEGATIVE, Velocity=NEGATIVE, New City=NEGATIVE}"
)
SAFE_LOG = (
    '{"risk":{"level":"LOW"},"behaviors":{"New Geo-Location":"NEGATIVE","New Device":"NEGATIVE",'
    '"New IP":"NEGATIVE","New State":"NEGATIVE","New Country":"NEGATIVE","Velocity":"NEGATIVE",'
    '"New City":"NEGATIVE"}}'
)
THREAT = (
    "{New Geo-Location=POSITIVE, New Device=POSITIVE, New IP=POSITIVE, New State=POSITIVE, "
    "New Country=POSITIVE, Velocity=POSITIVE, New City=POSITIVE}"
)
THREAT_LOG = (
    '{"risk":{"reasons":"Anomalous Location, Anomalous Device, Suspected Password Spray",'
    '"level":"HIGH"},"behaviors":{"New Geo-Location":"POSITIVE","New Device":"POSITIVE",'
    '"New IP":"POSITIVE","New State":"POSITIVE","New Country":"POSITIVE","Velocity":"POSITIVE",'
    '"New City":"POSITIVE"}}'
)
LONG_AGENT = (
    "Mozilla/5.0 (Windows NT 10.0; WOW64; Trident/7.0; .NET4.0C; .NET4.0E; "
    + "; ".join(f".NET CLR {major}.0.{build}" for major in (2, 3) for build in range(50727, 50767))
    + "; Tablet PC 2.0; Microsoft Outlook 16.0.5278; ms-office; MSOffice 16)"
)
QUIRKS = (
    "version_number",
    "postal_number",
    "zone_null",
    "ipchain_in_client",
    "target_null",
    "insertion_timestamp",
    "security_null",
    "long_agent",
)
# Credential shapes of authenticationContext: (authenticationProvider, credentialProvider, type)
PASSWORD = ("OKTA_AUTHENTICATION_PROVIDER", "OKTA_CREDENTIAL_PROVIDER", "PASSWORD")
FACTOR = ("FACTOR_PROVIDER", "OKTA_CREDENTIAL_PROVIDER", "OTP")
SYSTEM_ID = "0oa1kt4s7st3m0000000"  # the "Okta System" principal
_ID_FIX = bytes.maketrans(b"+/", b"xZ")
_VARIANT = dict(zip("0123456789abcdef", "89ab89ab89ab89ab", strict=True))
_CLOCK = [f"{m // 60:02d}:{m % 60:02d}:" for m in range(1440)]
_SECONDS = [f"{s:02d}." for s in range(60)]
_MILLIS = [f"{ms:03d}Z" for ms in range(1000)]


class Party(TypedDict):
    """An ``actor`` or an item of ``target`` of a LogEvent."""

    id: str
    type: str
    alternateId: str
    displayName: str
    detailEntry: dict[str, str] | None


Where = tuple[Network, Agent]  # a client's network and user agent
Outcome = tuple[str, str | None]  # result and reason
# LogEventFactory.event's arguments after the time: event_type, actor, where, outcome, display,
# legacy; and its keyword options.
EventArgs = tuple[str, Party, Where | None, Outcome, str, str | None]


class EventOptions(TypedDict, total=False):
    severity: str
    target: list[Party] | None
    debug: dict[str, str] | None
    credential: tuple[str, str, str] | None
    threat: bool


class _Context(NamedTuple):
    """Where an event came from: its client, network, IP chain, debug data and transaction."""

    client: dict[str, Any]
    security: dict[str, Any]
    chain: list[dict[str, Any]]
    data: dict[str, str]
    transaction: dict[str, Any]


class LogEventFactory:
    """Builds LogEvents from an ``rng``; ``quirk_rate`` of them get one docs/okta.md §3 quirk."""

    def __init__(self, rng: random.Random, org: str = "example", quirk_rate: float = 0.04) -> None:
        self.rng = rng
        self.origin = f"https://{org}.okta.com"
        self.quirk_rate = quirk_rate
        self._days: dict[int, str] = {}

    # ids and times -------------------------------------------------------------------------
    def ids(self) -> tuple[str, str, str, str]:
        """(uuid4, requestId, sessionId, dtHash) from one draw of the rng."""
        raw = self.rng.getrandbits(672).to_bytes(84, "little")
        h = raw[:16].hex()
        uuid = f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:]}"
        request = b2a_base64(raw[16:34], newline=False).translate(_ID_FIX).decode() + "AAAB"
        session = "102" + b2a_base64(raw[34:52], newline=False).translate(_ID_FIX).decode()[:22]
        return uuid, request, session, raw[52:].hex()

    def uuid(self) -> str:
        return self.ids()[0]

    def okta_id(self, prefix: str) -> str:
        raw = self.rng.getrandbits(120).to_bytes(15, "little")
        return prefix + b2a_base64(raw, newline=False).translate(_ID_FIX).decode()[:17]

    def published(self, ts_ms: int) -> str:
        """``2023-03-28T17:03:37.093Z`` for epoch milliseconds."""
        secs, ms = divmod(ts_ms, 1000)
        day, sod = divmod(secs, 86400)
        prefix = self._days.get(day)
        if prefix is None:
            prefix = datetime.fromtimestamp(day * 86400, UTC).strftime("%Y-%m-%dT")
            self._days[day] = prefix
        minute, sec = divmod(sod, 60)
        return prefix + _CLOCK[minute] + _SECONDS[sec] + _MILLIS[ms]

    # references ----------------------------------------------------------------------------
    @staticmethod
    def system() -> Party:
        return {
            "id": SYSTEM_ID,
            "type": "SystemPrincipal",
            "alternateId": "system@okta.com",
            "displayName": "Okta System",
            "detailEntry": None,
        }

    @staticmethod
    def user_ref(user: User) -> Party:
        return {
            "id": user.id,
            "type": "User",
            "alternateId": user.login,
            "displayName": user.name,
            "detailEntry": None,
        }

    @staticmethod
    def app_ref(app: App) -> Party:
        return {
            "id": app.id,
            "type": "AppInstance",
            "alternateId": app.label,
            "displayName": app.label,
            "detailEntry": {"signOnModeType": "SAML_2_0", "appName": app.name},
        }

    @staticmethod
    def app_user_ref(user: User, app: App) -> Party:
        return {
            "id": "0ua" + user.id[3:12] + app.id[3:11],
            "type": "AppUser",
            "alternateId": user.login,
            "displayName": user.name,
            "detailEntry": None,
        }

    @staticmethod
    def group_ref(group: Group) -> Party:
        return {
            "id": group.id,
            "type": "UserGroup",
            "alternateId": "unknown",
            "displayName": group.name,
            "detailEntry": None,
        }

    # the event -----------------------------------------------------------------------------
    def event(
        self,
        ts_ms: int,
        event_type: str,
        actor: Party,
        where: Where | None,
        outcome: Outcome,
        display: str,
        legacy: str | None,
        severity: str = "INFO",
        target: list[Party] | None = None,
        debug: dict[str, str] | None = None,
        credential: tuple[str, str, str] | None = None,
        threat: bool = False,
    ) -> Event:
        """One LogEvent; ``where`` None makes a background JOB event without a client."""
        uuid, rid, session, dt_hash = self.ids()
        context = self._job(rid) if where is None else self._web(where, rid, dt_hash, threat)
        if debug:
            context.data.update(debug)
        provider, cred_provider, cred_type = credential or (None, None, None)
        event: Event = {
            "actor": actor,
            "client": context.client,
            "device": None,
            "authenticationContext": {
                "authenticationProvider": provider,
                "credentialProvider": cred_provider,
                "credentialType": cred_type,
                "issuer": None,
                "interface": None,
                "authenticationStep": 0,
                "rootSessionId": session,
                "externalSessionId": session,
            },
            "displayMessage": display,
            "eventType": event_type,
            "outcome": {"result": outcome[0], "reason": outcome[1]},
            "published": self.published(ts_ms),
            "securityContext": context.security,
            "severity": severity,
            "debugContext": {"debugData": context.data},
            "legacyEventType": legacy,
            "transaction": context.transaction,
            "uuid": uuid,
            "version": "0",
            "request": {"ipChain": context.chain},
            "target": target,
        }
        if self.rng.random() < self.quirk_rate:
            apply_quirk(event, self.rng.choice(QUIRKS))
        return event

    def _job(self, rid: str) -> _Context:
        """A background job's context: no client, no network."""
        client = {
            "userAgent": None,
            "zone": None,
            "device": None,
            "id": None,
            "ipAddress": None,
            "geographicalContext": None,
        }
        security = {"asNumber": None, "asOrg": None, "isp": None, "domain": None, "isProxy": None}
        data = {"requestId": rid, "jobId": self.okta_id("ojb"), "threatSuspected": "false"}
        transaction = {"type": "JOB", "id": data["jobId"], "detail": {}}
        return _Context(client, security, [], data, transaction)

    def _web(self, where: Where, rid: str, dt_hash: str, threat: bool) -> _Context:
        """A sign-in request's context: the client's network, agent and place, risk data."""
        net, agent = where
        client = {
            "userAgent": {"rawUserAgent": agent[0], "os": agent[1], "browser": agent[2]},
            "zone": net.zone,
            "device": agent[3],
            "id": None,
            "ipAddress": net.ip,
            "geographicalContext": _geo(net.place),
        }
        security = {
            "asNumber": net.asn,
            "asOrg": net.as_org,
            "isp": net.isp,
            "domain": net.domain,
            "isProxy": net.is_proxy,
        }
        chain = [
            {"ip": net.ip, "geographicalContext": _geo(net.place), "version": "V4", "source": None}
        ]
        data = {
            "requestId": rid,
            "requestUri": "/idp/idx/identify",
            "url": "/idp/idx/identify?",
            "threatSuspected": "true" if threat else "false",
            "dtHash": dt_hash,
            "behaviors": THREAT if threat else SAFE,
            "risk": "{reasons=Anomalous Location, level=HIGH}" if threat else "{level=LOW}",
            "logOnlySecurityData": THREAT_LOG if threat else SAFE_LOG,
            "origin": self.origin,
        }
        transaction = {"type": "WEB", "id": rid, "detail": {}}
        return _Context(client, security, chain, data, transaction)


def apply_quirk(event: Event, quirk: str) -> None:
    """Bend ``event`` like real payloads (docs/okta.md §3); a quirk that does not fit is a no-op."""
    client = event["client"]
    geo = client.get("geographicalContext")
    agent = client.get("userAgent")
    if quirk == "version_number":
        event["version"] = 0
    elif quirk == "postal_number" and geo and geo["postalCode"].isdigit():
        geo["postalCode"] = int(geo["postalCode"])
    elif quirk == "zone_null":
        client["zone"] = "null"
    elif quirk == "ipchain_in_client":
        client["ipChain"] = event.pop("request")["ipChain"]
    elif quirk == "target_null":
        event["target"] = None
    elif quirk == "insertion_timestamp":
        event["insertionTimestamp"] = event["published"]
    elif quirk == "security_null":
        event["securityContext"] = None
    elif quirk == "long_agent" and agent:
        agent["rawUserAgent"] = LONG_AGENT


def _geo(place: Place) -> dict[str, Any]:
    return {
        "city": place[0],
        "state": place[1],
        "country": place[2],
        "postalCode": place[3],
        "geolocation": {"lat": place[4], "lon": place[5]},
    }
