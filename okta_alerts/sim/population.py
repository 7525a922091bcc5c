"""The simulated Okta org: users, admins, groups, apps, networks and places, built from a seed."""

from __future__ import annotations

import base64
import random
import unicodedata
from dataclasses import dataclass, field

# (city, state, country, postalCode, lat, lon)
Place = tuple[str, str | None, str, str, float, float]

PLACES: dict[str, Place] = {
    "sf": ("San Francisco", "California", "United States", "94105", 37.7898, -122.3942),
    "ny": ("New York", "New York", "United States", "10013", 40.7209, -74.0048),
    "austin": ("Austin", "Texas", "United States", "78701", 30.2711, -97.7437),
    "chicago": ("Chicago", "Illinois", "United States", "60601", 41.8857, -87.6181),
    "seattle": ("Seattle", "Washington", "United States", "98101", 47.6101, -122.3344),
    "boston": ("Boston", "Massachusetts", "United States", "02110", 42.3572, -71.0514),
    "london": ("London", "England", "United Kingdom", "EC2A", 51.5226, -0.0857),
    "manchester": ("Manchester", "England", "United Kingdom", "M1", 53.4794, -2.2453),
    "dublin": ("Dublin", "Leinster", "Ireland", "D02", 53.3382, -6.2591),
    "berlin": ("Berlin", "Land Berlin", "Germany", "10115", 52.5323, 13.3846),
    "munich": ("Munich", "Bavaria", "Germany", "80331", 48.1351, 11.5820),
    "paris": ("Paris", "Île-de-France", "France", "75001", 48.8625, 2.3364),
    "stockholm": ("Stockholm", "Stockholm County", "Sweden", "111 20", 59.3326, 18.0649),
    "bengaluru": ("Bengaluru", "Karnataka", "India", "560001", 12.9719, 77.5937),
    "tokyo": ("Tokyo", "Tokyo", "Japan", "100-0005", 35.6812, 139.7671),
    "saopaulo": ("São Paulo", "São Paulo", "Brazil", "01310-100", -23.5614, -46.6559),
    "shanghai": ("Shanghai", "Shanghai", "China", "200000", 31.2304, 121.4737),
    "sydney": ("Sydney", "New South Wales", "Australia", "2000", -33.8688, 151.2093),
    "amsterdam": ("Amsterdam", "North Holland", "Netherlands", "1012", 52.3740, 4.8897),
    "frankfurt": ("Frankfurt am Main", "Hesse", "Germany", "60313", 50.1155, 8.6842),
    "bucharest": ("Bucharest", "Bucure\u0219ti", "Romania", "030167", 44.4268, 26.1025),
    "roubaix": ("Roubaix", "Hauts-de-France", "France", "59100", 50.6942, 3.1746),
    "singapore": ("Singapore", None, "Singapore", "018989", 1.2897, 103.8501),
}

# country -> (asn, asOrg, isp, domain, first octets of address blocks)
HOME_ISPS: dict[str, tuple[tuple[int, str, str, str, tuple[str, ...]], ...]] = {
    "United States": (
        (7922, "comcast", "Comcast Cable Communications, LLC", "comcast.net", ("73.158", "98.207")),
        (20115, "charter", "Charter Communications Inc", "spectrum.com", ("71.84", "24.176")),
        (701, "verizon", "Verizon Fios", "verizon.net", ("108.46", "100.2")),
        (21928, "t-mobile", "T-Mobile USA, Inc.", "t-mobile.com", ("172.58", "172.56")),
    ),
    "United Kingdom": (
        (2856, "british telecommunications plc", "BT", "bt.com", ("86.128", "81.152")),
        (5089, "virgin media limited", "Virgin Media", "virginmedia.com", ("82.32", "86.0")),
    ),
    "Ireland": ((5466, "eircom limited", "Eir", "eir.ie", ("86.40", "79.97")),),
    "Germany": (
        (3320, "deutsche telekom ag", "Deutsche Telekom AG", "t-ipconnect.de", ("79.192",)),
    ),
    "France": ((3215, "orange s.a.", "Orange", "orange.fr", ("90.24", "86.246")),),
    "Sweden": ((3301, "telia company ab", "Telia Company AB", "telia.com", ("78.70", "90.229")),),
    "India": ((55836, "reliance jio infocomm limited", "Reliance Jio", "jio.com", ("49.36",)),),
    "Japan": ((4713, "ntt communications corporation", "OCN", "ocn.ne.jp", ("153.156",)),),
    "Brazil": ((26599, "telefonica brasil s.a", "Vivo", "vivo.com.br", ("177.32",)),),
    "China": ((4134, "chinanet", "China Telecom", "chinatelecom.cn", ("101.80",)),),
    "Australia": ((1221, "telstra limited", "Telstra", "telstra.net", ("120.144",)),),
}

# office key -> (zone name, asn, asOrg, isp, domain, address block)
OFFICES: dict[str, tuple[str, int, str, str, str, str]] = {
    "sf": (
        "HQ San Francisco",
        7018,
        "at&t services, inc.",
        "AT&T Services, Inc.",
        "att.com",
        "12.153.224",
    ),
    "ny": (
        "Office New York",
        6939,
        "hurricane electric llc",
        "Hurricane Electric LLC",
        "he.net",
        "216.218.130",
    ),
    "london": ("Office London", 5400, "british telecommunications plc", "BT", "bt.com", "62.6.140"),
    "berlin": (
        "Office Berlin",
        3320,
        "deutsche telekom ag",
        "Deutsche Telekom AG",
        "telekom.de",
        "80.146.191",
    ),
    "bengaluru": (
        "Office Bengaluru",
        9498,
        "bharti airtel ltd.",
        "Airtel",
        "airtel.in",
        "182.73.12",
    ),
    "tokyo": ("Office Tokyo", 2516, "kddi corporation", "KDDI", "kddi.com", "106.185.64"),
}
OFFICE_WEIGHTS = (40, 15, 15, 12, 12, 6)

# Hosting and proxy networks attackers rent: (place key, asn, asOrg, isp, domain, block, isProxy)
HOSTILE_NETWORKS: tuple[tuple[str, int, str, str, str, str, bool], ...] = (
    (
        "amsterdam",
        14061,
        "digitalocean, llc",
        "DigitalOcean, LLC",
        "digitalocean.com",
        "178.62.93",
        False,
    ),
    (
        "frankfurt",
        24940,
        "hetzner online gmbh",
        "Hetzner Online GmbH",
        "hetzner.com",
        "116.203.44",
        False,
    ),
    ("roubaix", 16276, "ovh sas", "OVH SAS", "ovh.net", "51.77.140", False),
    ("bucharest", 9009, "m247 europe srl", "M247 Europe SRL", "m247.com", "185.156.46", True),
    (
        "singapore",
        20473,
        "the constant company, llc",
        "Vultr Holdings, LLC",
        "vultr.com",
        "45.77.36",
        True,
    ),
)
_HOSTILE_CITIES = frozenset(PLACES[entry[0]][0] for entry in HOSTILE_NETWORKS)

# (label, Okta app name) of the org's applications
APPS: tuple[tuple[str, str], ...] = (
    ("Salesforce.com", "salesforce"),
    ("Slack", "slack"),
    ("Zoom", "zoomus"),
    ("Workday", "workday"),
    ("Box", "boxnet"),
    ("GitHub", "githubcloud"),
    ("Atlassian Cloud", "atlassian"),
    ("ServiceNow", "servicenow_app2"),
    ("AWS IAM Identity Center", "amazon_aws_sso"),
    ("Google Workspace", "google"),
    ("Microsoft Office 365", "msft_office365"),
    ("Dropbox Business", "dropbox_for_business"),
    ("DocuSign", "docusign"),
    ("Zendesk", "zendesk"),
    ("Tableau Cloud", "tableau_online"),
)

GROUPS = ("Everyone", "Engineering", "Sales", "Finance", "Support", "Marketing", "Contractors")

# (rawUserAgent, os, browser, device)
Agent = tuple[str, str, str, str]
DESKTOP_AGENTS: tuple[Agent, ...] = (
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/124.0.0.0 Safari/537.36",
        "Windows 10",
        "CHROME",
        "Computer",
    ),
    (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/124.0.0.0 Safari/537.36",
        "Mac OS X",
        "CHROME",
        "Computer",
    ),
    (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/17.4.1 Safari/605.1.15",
        "Mac OS X",
        "SAFARI",
        "Computer",
    ),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.80",
        "Windows 10",
        "EDGE_CHROMIUM",
        "Computer",
    ),
    (
        "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
        "Linux",
        "FIREFOX",
        "Computer",
    ),
)
MOBILE_AGENTS: tuple[Agent, ...] = (
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.4.1 Mobile/15E148 Safari/604.1",
        "iOS",
        "MOBILE_SAFARI",
        "Mobile",
    ),
    (
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/124.0.6367.82 Mobile Safari/537.36",
        "Android",
        "CHROME",
        "Mobile",
    ),
    ("Okta Verify/9.12.0 (iOS 17.4.1; iPhone15,2)", "iOS", "UNKNOWN", "Mobile"),
)
LEGACY_AGENT: Agent = (
    "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17328; Pro)",
    "Windows 10",
    "UNKNOWN",
    "Computer",
)
ATTACK_AGENTS: tuple[Agent, ...] = (
    ("python-requests/2.31.0", "Unknown", "UNKNOWN", "Unknown"),
    (
        "Mozilla/5.0 (Windows NT 6.1; WOW64; rv:45.0) Gecko/20100101 Firefox/45.0",
        "Windows 7",
        "FIREFOX",
        "Computer",
    ),
)

FIRST_NAMES = (
    "Ava", "Liam", "Olivia", "Noah", "Emma", "James", "Sophia", "Lucas", "Mia", "Ethan",
    "Amelia", "Mateo", "Harper", "Aiden", "Priya", "Arjun", "Aisha", "Omar", "Hannah", "Daniel",
    "Grace", "Samuel", "Chloé", "François", "José", "Zoë", "Björn", "Søren", "Łukasz", "Siobhán",
    "Renée", "Jürgen", "Ngozi", "Kwame", "Yuki", "Hiroshi", "Mei", "Wei", "Fatima", "Mohammed",
    "Elena", "Mikhail", "Isabella", "Diego", "Camila", "Thiago", "Ingrid", "Astrid", "Nora", "Ali",
)  # fmt: skip
LAST_NAMES = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Martinez",
    "Lopez", "Wilson", "Anderson", "Taylor", "Thomas", "Moore", "Jackson", "Martin", "Lee",
    "Patel", "Sharma", "Nguyen", "Kim", "Chen", "Wang", "Ångström", "Núñez", "Müller",
    "Dvořák", "Çelik", "O'Brien", "Østergaard", "Gonçalves", "Schröder", "Kowalski", "Tanaka",
    "Sato", "Okafor", "Mensah", "Haddad", "Rossi", "Ivanova", "Fernández", "Silva", "Larsen",
)  # fmt: skip
# Names written family name first without a space: (display, given, family in Latin letters)
CJK_NAMES = (
    ("李雷", "lei", "li"),
    ("韩梅梅", "meimei", "han"),
    ("王芳", "fang", "wang"),
    ("张伟", "wei", "zhang"),
    ("田中花子", "hanako", "tanaka"),
    ("김민준", "minjun", "kim"),
)
_FOLD = str.maketrans({"ł": "l", "Ł": "L", "ø": "o", "Ø": "O", "ß": "ss", "æ": "ae", "'": ""})
_ID_FIX = bytes.maketrans(b"+/", b"xZ")


def okta_id(rng: random.Random, prefix: str) -> str:
    """An Okta-style 20-character id such as ``00u1a2b3c4d5e6f7g8h9``."""
    return prefix + base64.b64encode(rng.randbytes(15)).translate(_ID_FIX).decode()[:17]


def ascii_login(*parts: str) -> str:
    folded = (unicodedata.normalize("NFKD", p.translate(_FOLD)) for p in parts)
    return ".".join(p.encode("ascii", "ignore").decode().lower() for p in folded)


@dataclass(frozen=True, slots=True)
class Network:
    """Where a request comes from: address, AS and place."""

    ip: str
    asn: int
    as_org: str
    isp: str
    domain: str
    is_proxy: bool
    zone: str | None
    place: Place


@dataclass(frozen=True, slots=True)
class App:
    id: str
    label: str
    name: str


@dataclass(frozen=True, slots=True)
class Group:
    id: str
    name: str


@dataclass(frozen=True, slots=True)
class User:
    id: str
    login: str
    name: str
    home: Network
    office: Network
    desktop: Agent
    mobile: Agent
    apps: tuple[int, ...]
    group: int


@dataclass(frozen=True, slots=True)
class Population:
    """Everyone and everything the simulated org has; pure data."""

    users: list[User]
    admins: list[User]
    apps: list[App]
    groups: list[Group]
    hostile: list[Network] = field(default_factory=list)

    @classmethod
    def build(cls, rng: random.Random, users: int = 500) -> Population:
        """Build ``users`` users (at least 1) and the org around them from ``rng``."""
        apps = [App(okta_id(rng, "0oa"), label, name) for label, name in APPS]
        groups = [Group(okta_id(rng, "00g"), name) for name in GROUPS]
        offices = {key: _office_network(rng, key) for key in OFFICES}
        office_keys = list(OFFICES)
        taken: set[str] = set()
        people = []
        for _ in range(max(1, users)):
            office_key = rng.choices(office_keys, OFFICE_WEIGHTS)[0]
            office = offices[office_key]
            name, login = _person(rng, taken)
            n_apps = rng.randint(3, 8)
            assigned = tuple(sorted({0, 1, *rng.sample(range(len(apps)), n_apps)}))
            people.append(
                User(
                    id=okta_id(rng, "00u"),
                    login=login,
                    name=name,
                    home=_home_network(rng, office.place),
                    office=office,
                    desktop=rng.choice(DESKTOP_AGENTS),
                    mobile=rng.choice(MOBILE_AGENTS),
                    apps=assigned,
                    group=rng.randrange(1, len(groups)),
                )
            )
        admins = people[: max(1, len(people) // 100)]
        hostile = [_hostile_network(rng, entry) for entry in HOSTILE_NETWORKS]
        return cls(people, admins, apps, groups, hostile)


def _person(rng: random.Random, taken: set[str]) -> tuple[str, str]:
    if rng.random() < 0.03:
        name, given, family = rng.choice(CJK_NAMES)
    else:
        given, family = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        name = f"{given} {family}"
    base = ascii_login(given, family)
    login, n = base, 1
    while login in taken:
        n += 1
        login = f"{base}{n}"
    taken.add(login)
    return name, f"{login}@example.com"


def _office_network(rng: random.Random, key: str) -> Network:
    zone, asn, org, isp, domain, block = OFFICES[key]
    return Network(
        f"{block}.{rng.randint(2, 250)}", asn, org, isp, domain, False, zone, PLACES[key]
    )


def _home_network(rng: random.Random, office_place: Place) -> Network:
    country = office_place[2]
    if rng.random() < 0.15:
        country = rng.choice(list(HOME_ISPS))
    places = [p for p in PLACES.values() if p[2] == country and p[0] not in _HOSTILE_CITIES]
    place = (
        office_place if rng.random() < 0.6 and office_place[2] == country else rng.choice(places)
    )
    asn, org, isp, domain, blocks = rng.choice(HOME_ISPS[country])
    ip = f"{rng.choice(blocks)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
    return Network(ip, asn, org, isp, domain, False, None, place)


def _hostile_network(
    rng: random.Random, entry: tuple[str, int, str, str, str, str, bool]
) -> Network:
    key, asn, org, isp, domain, block, proxy = entry
    return Network(
        f"{block}.{rng.randint(2, 250)}", asn, org, isp, domain, proxy, None, PLACES[key]
    )
