"""The org's own networks, as one SQL predicate over ``client_zone`` and ``client_ip``.

Okta puts in ``client.zone`` the name of the network zone the request came from (the admin's IP
zones: offices, VPN egress, the IWA ``LegacyIpZone``); :data:`NOT_OWN_ZONES` are the names that
say "none" or belong to Okta's block lists. The setting ``OKTA_ALERTS_KNOWN_NETWORKS`` adds CIDRs
(offices that have no zone in Okta, a VPN range). DuckDB's ``inet`` extension is not assumed
(it is downloaded on first use), so addresses are compared as numbers: IPv4 as an integer,
IPv6 as its 32 hexadecimal digits (whose text order is their numeric order). The predicate is
used on the rows of a rule's window, never on a whole table.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

from okta_alerts.config import Settings
from okta_alerts.sql import literal

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

# client.zone values that are not a zone of the org: "null" and its variants (docs/okta.md §3),
# OFF_NETWORK (Okta's own sample), and Okta's default block-list zones (Okta Help: "IP zones",
# "Enhanced dynamic zones"). Compared in lower case.
NOT_OWN_ZONES = (
    "",
    "null",
    "none",
    "unknown",
    "off_network",
    "blockedipzone",
    "defaultenhanceddynamiczone",
)

_IPV4 = r"\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}"


def parse_networks(values: Iterable[str]) -> tuple[Network, ...]:
    """CIDRs or single addresses; ValueError names the first that is neither."""
    found = []
    for value in values:
        try:
            found.append(ipaddress.ip_network(value.strip(), strict=False))
        except ValueError:
            raise ValueError(
                f"{value!r} is not a network like 203.0.113.0/24 or 2001:db8::/32"
            ) from None
    return tuple(found)


def ipv4_number_sql(ip: str) -> str:
    """SQL of the IPv4 address ``ip`` (an expression) as a UBIGINT; NULL for anything else."""
    parts = " + ".join(
        f"try_cast(split_part({ip}, '.', {i + 1}) AS UTINYINT)::UBIGINT * {256 ** (3 - i)}"
        for i in range(4)
    )
    return f"CASE WHEN regexp_full_match({ip}, {literal(_IPV4)}) THEN {parts} END"


def ipv6_hex_sql(ip: str) -> str:
    """SQL of the IPv6 address ``ip`` as its 32 lower-case hex digits; NULL for anything else
    (IPv4, a zone index, an embedded IPv4 tail)."""
    halves = f"string_split(lower({ip}), '::')"
    left = (
        f"(CASE WHEN {halves}[1] = '' THEN []::VARCHAR[] ELSE string_split({halves}[1], ':') END)"
    )
    right = (
        f"(CASE WHEN len({halves}) < 2 OR {halves}[2] = '' THEN []::VARCHAR[] "
        f"ELSE string_split({halves}[2], ':') END)"
    )
    zeros = f"list_transform(range(8 - len({left}) - len({right})), lambda i: '0')"
    groups = (
        f"(CASE WHEN len({halves}) = 1 THEN {left} ELSE list_concat({left}, {zeros}, {right}) END)"
    )
    ok = (
        f"regexp_full_match({ip}, '[0-9A-Fa-f:]+') AND len({halves}) <= 2 AND len({groups}) = 8"
        f" AND list_bool_and(list_transform({groups}, lambda g: len(g) BETWEEN 1 AND 4))"
    )
    digits = f"array_to_string(list_transform({groups}, lambda g: lpad(g, 4, '0')), '')"
    return f"CASE WHEN {ok} THEN {digits} END"


@dataclass(frozen=True)
class KnownNetworks:
    """The org's networks: any zone Okta matched (unless ``zones`` is false) and ``cidrs``."""

    cidrs: tuple[Network, ...] = ()
    zones: bool = True

    @classmethod
    def from_settings(cls, settings: Settings) -> KnownNetworks:
        return cls(parse_networks(settings.known_networks))

    def sql(self, ip: str = "client_ip", zone: str = "client_zone") -> str:
        """A boolean SQL expression: the row came from one of the org's networks."""
        terms = []
        if self.zones:
            terms.append(f"lower({zone}) NOT IN {_in(NOT_OWN_ZONES)}")
        v4 = [n for n in self.cidrs if n.version == 4]
        v6 = [n for n in self.cidrs if n.version == 6]
        if v4:
            number = ipv4_number_sql(ip)
            ranges = [f"{int(n.network_address)} AND {int(n.broadcast_address)}" for n in v4]
            terms += [f"({number}) BETWEEN {r}" for r in ranges]
        if v6:
            digits = ipv6_hex_sql(ip)
            bounds = [f"{_hex(n.network_address)} AND {_hex(n.broadcast_address)}" for n in v6]
            terms += [f"({digits}) BETWEEN {b}" for b in bounds]
        return f"coalesce({' OR '.join(terms)}, false)" if terms else "false"

    def describe(self) -> str:
        """How the digest and reports say what counts as known."""
        zones = "Okta network zones" if self.zones else ""
        cidrs = ", ".join(str(n) for n in self.cidrs)
        return " and ".join(part for part in (zones, cidrs) if part) or "none"


def _in(values: Iterable[str]) -> str:
    return "(" + ", ".join(literal(v) for v in values) + ")"


def _hex(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    return literal(f"{int(address):032x}")
