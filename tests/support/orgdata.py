"""A 2,000-user org's Okta events, generated for the detection tests (not by the simulator).

Three offices behind one NAT address each (with an Okta network zone), homes on the big ISPs of
each country, phones behind carrier NAT (many users per address), ten service accounts calling
the API from a cloud network, internet bots trying a few names from hosting networks, and
provisioning into fifteen apps with their everyday errors. People sign in on their working days
in their own time zone (Austin UTC-6, London UTC, Pune UTC+5:30), mistype passwords and user
names, sometimes lock themselves out and wait or unlock themselves; admins assign apps, now and
then a whole group at once. Nothing in it is an incident: that is :mod:`tests.support.incidents`.

Events are LogEvents shaped like Okta's (docs/okta.md §3) so that the real column extraction
and the real views read them; only the fields the views use are filled in.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

START = datetime(2026, 11, 2, tzinfo=UTC)  # a Monday: 14 baseline days, then the quiet week
QUIET = START + timedelta(days=14)
END = QUIET + timedelta(days=7)
USERS = 2000
LOCKOUT_AFTER = 5  # failed sign-ins that lock an account (Okta's password policy)

Event = dict[str, Any]


@dataclass(frozen=True)
class Net:
    """Where a request comes from."""

    ip: str
    asn: int | None
    org: str | None
    country: str
    zone: str | None = None


@dataclass(frozen=True)
class Agent:
    raw: str
    os: str
    browser: str  # Okta's value; UNKNOWN for anything that is not a browser


CHROME = Agent("Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/131.0 Safari/537.36", "Windows 10",
               "CHROME")  # fmt: skip
EDGE = Agent("Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/131.0 Edg/131.0", "Windows 10",
             "EDGE_CHROMIUM")  # fmt: skip
SAFARI = Agent("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) Version/18.1 Safari/605.1.15",
               "Mac OS X", "SAFARI")  # fmt: skip
MOBILE = Agent("Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) Mobile/15E148 Safari/604.1",
               "iOS", "MOBILE_SAFARI")  # fmt: skip
MAIL = Agent("Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.18129)", "Windows 10",
             "UNKNOWN")  # fmt: skip
SCRIPT = Agent("python-requests/2.32.3", "Unknown", "UNKNOWN")
# office -> (NAT address, ASN, AS org, country, Okta zone, UTC offset in hours, share of people)
OFFICES = {
    "austin": ("12.153.224.7", 7018, "at&t services, inc.", "United States", "Office Austin",
               -6, 45),
    "london": ("62.6.140.9", 5400, "british telecommunications plc", "United Kingdom",
               "Office London", 0, 35),
    "pune": ("182.73.12.4", 9498, "bharti airtel ltd.", "India", "Office Pune", 5.5, 20),
}  # fmt: skip
HOME_ISPS = {  # country -> (ASN, AS org, first two octets), the first the most common
    "United States": ((7922, "comcast cable communications, llc", "73.158"),
                      (20115, "charter communications inc", "71.84"),
                      (701, "verizon business", "108.46")),
    "United Kingdom": ((2856, "british telecommunications plc", "86.128"),
                       (5089, "virgin media limited", "82.32")),
    "India": ((55836, "reliance jio infocomm limited", "49.36"),
              (24560, "bharti airtel ltd., telemedia services", "122.171")),
}  # fmt: skip
CARRIERS = {  # country -> (ASN, AS org, NAT pool prefix): phones share a few addresses each
    "United States": (21928, "t-mobile usa, inc.", "172.58.40"),
    "United Kingdom": (25135, "vodafone limited", "92.40.200"),
    "India": (45609, "bharti airtel ltd. as for gprs service", "106.76.80"),
}
CLOUD = Net("3.92.14.{}", 16509, "amazon.com, inc.", "United States")
HOSTING = ((14061, "digitalocean, llc", "164.90"), (16276, "ovh sas", "51.77"),
           (24940, "hetzner online gmbh", "116.203"), (20473, "the constant company, llc", "45.77"),
           (4134, "chinanet", "101.80"), (9009, "m247 europe srl", "185.156"))  # fmt: skip
APPS = (  # (label, Okta key, id suffix, weight, error rate)
    ("Microsoft Office 365", "office365", "o365", 25, 0.02), ("Slack", "slack", "slck", 15, 0.02),
    ("Salesforce.com", "salesforce", "sfdc", 10, 0.04), ("Zoom", "zoomus", "zoom", 10, 0.02),
    ("Atlassian Cloud", "atlassian", "atls", 8, 0.03), ("Box", "boxnet", "boxn", 6, 0.03),
    ("Workday", "workday", "wday", 5, 0.03), ("GitHub Enterprise", "githubent", "ghub", 5, 0.02),
    ("Dropbox Business", "dropbox_for_business", "drop", 3, 0.03),
    ("ServiceNow", "servicenow_app2", "snow", 3, 0.04), ("Zendesk", "zendesk", "zndk", 3, 0.03),
    ("DocuSign", "docusign", "docu", 3, 0.02), ("Tableau Online", "tableau", "tblo", 2, 0.03),
    ("Snowflake", "snowflake", "snwf", 1, 0.05), ("TravelPerk", "travelperk", "trvl", 1, 0.05),
)  # fmt: skip
# Everyday provisioning errors (outcome.reason), with the user in them as Okta writes them.
EVERYDAY_REASONS = (
    (5, "Automatic provisioning of user {name} to app {app} failed: Error while creating user "
        '{login}: Conflict. Errors reported by remote server: A user with userName "{login}" '
        "already exists. The userName must be unique."),
    (3, "Automatic provisioning of user {name} to app {app} failed: Matching user not found."),
    (2, "Automatic profile push of user {name} to app {app} failed: Error while updating user "
        "{login}: Bad Request. Errors reported by remote server: Invalid value for attribute "
        "'department'"),
    (1, "Automatic provisioning of user {name} to app {app} failed: Error while verifying if user "
        "{login} exists: Internal Server Error. Errors reported by remote server: upstream "
        "request timeout"),
)  # fmt: skip
FIRST = (
    "Jane",
    "John",
    "Maria",
    "Wei",
    "Priya",
    "Liam",
    "Olivia",
    "Noah",
    "Aisha",
    "Mateo",
    "Sofia",
    "Arjun",
    "Emma",
    "Lucas",
    "Chloe",
    "Ravi",
    "Hannah",
    "Omar",
    "Zoe",
    "Ethan",
)
LAST = (
    "Roe",
    "Doe",
    "Garcia",
    "Chen",
    "Patel",
    "Smith",
    "Jones",
    "Nguyen",
    "Khan",
    "Silva",
    "Müller",
    "O'Brien",
    "Kowalski",
    "Sato",
    "Iyer",
    "Brown",
    "Dubois",
    "Rossi",
    "Kim",
    "Ali",
)


@dataclass(frozen=True)
class Person:
    login: str
    name: str
    id: str
    office: Net
    home: Net
    phone: Net
    utc_offset: float
    desktop: Agent
    mail_client: bool


@dataclass
class Org:
    people: list[Person]
    admins: list[Person]
    services: list[Person]
    apps: tuple[tuple[str, str, str, int, float], ...] = APPS
    events: list[Event] = field(default_factory=list)
    serial: int = 0


def okta_id(prefix: str, n: int) -> str:
    return f"{prefix}{n:017d}"


def build_org(rng: random.Random, users: int = USERS) -> Org:
    """The people of the org, their networks and devices."""
    people = []
    offices = list(OFFICES.items())
    for n in range(users):
        _, (ip, asn, org, country, zone, offset, _) = rng.choices(
            offices, weights=[o[1][6] for o in offices]
        )[0]
        first, last = rng.choice(FIRST), rng.choice(LAST)
        isp = rng.choices(HOME_ISPS[country], weights=(6, 3, 1)[: len(HOME_ISPS[country])])[0]
        carrier = CARRIERS[country]
        home = Net(f"{isp[2]}.{rng.randint(1, 254)}.{rng.randint(1, 254)}", isp[0], isp[1], country)
        phone = Net(f"{carrier[2]}.{rng.randint(1, 12)}", carrier[0], carrier[1], country)
        login = f"{first}.{last}{n}@acme.com".lower().replace("'", "").replace("ü", "ue")
        people.append(
            Person(
                login,
                f"{first} {last}",
                okta_id("00u", n),
                Net(ip, asn, org, country, zone),
                home,
                phone,
                offset,
                rng.choice((CHROME, CHROME, EDGE, SAFARI)),
                rng.random() < 0.04,
            )
        )
    services = [
        Person(
            f"svc-{name}@acme.com",
            f"svc {name}",
            okta_id("00u", 90000 + i),
            Net(CLOUD.ip.format(10 + i), CLOUD.asn, CLOUD.org, CLOUD.country),
            CLOUD,
            CLOUD,
            0,
            SCRIPT,
            False,
        )
        for i, name in enumerate(
            (
                "reports",
                "backup",
                "hr-sync",
                "billing",
                "ci",
                "monitoring",
                "crm-etl",
                "tickets",
                "wiki",
                "payroll",
            )
        )
    ]
    return Org(people, people[:12], services)


# -- the events --------------------------------------------------------------------------------


def iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def event(org: Org, when: datetime, kind: str, actor: dict[str, Any], net: Net | None,
          agent: Agent | None, result: str, reason: str | None, message: str,
          targets: list[dict[str, Any]] | None = None,
          debug: dict[str, str] | None = None) -> Event:  # fmt: skip
    """One LogEvent with the fields the views read."""
    org.serial += 1
    client: dict[str, Any] = {"zone": "null", "ipAddress": None, "userAgent": None}
    security: dict[str, Any] = {"asNumber": None, "asOrg": None, "isp": None, "isProxy": None}
    if net is not None:
        client = {
            "zone": net.zone or "null",
            "ipAddress": net.ip,
            "device": "Computer",
            "geographicalContext": {"country": net.country, "city": None, "state": None},
        }
        security = {"asNumber": net.asn, "asOrg": net.org, "isp": net.org, "isProxy": False}
    if agent is not None:
        client["userAgent"] = {"rawUserAgent": agent.raw, "os": agent.os, "browser": agent.browser}
    return {
        "uuid": f"00000000-0000-4000-8000-{org.serial:012d}",
        "published": iso(when),
        "eventType": kind,
        "version": "0",
        "severity": "INFO" if result == "SUCCESS" else "WARN",
        "displayMessage": message,
        "actor": actor,
        "client": client,
        "outcome": {"result": result, "reason": reason},
        "target": targets,
        "securityContext": security,
        "debugContext": {"debugData": debug or {}},
        "transaction": {"type": "WEB" if net else "JOB", "id": f"tx{org.serial}"},
    }


def user_ref(person: Person) -> dict[str, Any]:
    return {"id": person.id, "type": "User", "alternateId": person.login,
            "displayName": person.name}  # fmt: skip


SYSTEM = {"id": "0oa1kt4s7st3m0000000", "type": "SystemPrincipal", "alternateId": "system@okta.com",
          "displayName": "Okta System"}  # fmt: skip


def app_ref(app: tuple[str, str, str, int, float]) -> dict[str, Any]:
    return {"id": f"0oa{app[2]}00000000000000", "type": "AppInstance", "alternateId": app[0],
            "displayName": app[0]}  # fmt: skip


def sign_in(org: Org, when: datetime, who: Person, net: Net, agent: Agent,
            reason: str | None = None, typed: str | None = None) -> Event:  # fmt: skip
    """``user.session.start``: SUCCESS, or FAILURE with ``reason``; ``typed`` is a user name
    Okta does not know (its actor id is ``unknown``)."""
    actor = user_ref(who)
    if typed is not None:
        actor = {"id": "unknown", "type": "User", "alternateId": typed, "displayName": "unknown"}
    result = "SUCCESS" if reason is None else "FAILURE"
    return event(org, when, "user.session.start", actor, net, agent, result, reason,
                 "User login to Okta")  # fmt: skip


def lockout(org: Org, when: datetime, who: Person, net: Net, agent: Agent) -> Event:
    return event(org, when, "user.account.lock", user_ref(who), net, agent, "FAILURE",
                 "LOCKED_OUT", "Max sign in attempts exceeded")  # fmt: skip


def unlock(org: Org, when: datetime, who: Person, by_self: bool) -> Event:
    """Okta's automatic unlock, or the user's own (self-service) one."""
    actor = user_ref(who) if by_self else SYSTEM
    return event(org, when, "user.account.unlock", actor, None, None, "SUCCESS", None,
                 "Unlock user account", [user_ref(who)])  # fmt: skip


App = tuple[str, str, str, int, float]  # (label, Okta key, id suffix, weight, error rate)


def provision(org: Org, when: datetime, app: App, who: Person, reason: str | None,
              kind: str = "application.provision.user.push") -> Event:  # fmt: skip
    text = "Push new user to external application"
    targets = [app_ref(app), {**user_ref(who), "type": "AppUser"}, user_ref(who)]
    return event(org, when, kind, SYSTEM, None, None, "FAILURE" if reason else "SUCCESS", reason,
                 text, targets, {"appname": app[1]})  # fmt: skip


def app_error(org: Org, when: datetime, app: tuple[str, str, str, int, float], kind: str,
              reason: str) -> Event:  # fmt: skip
    """An app-level integration error: Okta itself is the actor, no user is involved."""
    return event(org, when, kind, SYSTEM, None, None, "FAILURE", reason,
                 f"Integration error: {app[0]}: {reason}", [app_ref(app)],
                 {"appname": app[1], "errorMessage": reason})  # fmt: skip
