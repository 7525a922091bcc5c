"""Known networks: the SQL predicate agrees with Python's ``ipaddress`` on any address."""

from __future__ import annotations

import ipaddress

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from okta_alerts.analysis.networks import (
    KnownNetworks,
    Network,
    ipv4_number_sql,
    ipv6_hex_sql,
    parse_networks,
)
from okta_alerts.config import load_settings
from okta_alerts.errors import ConfigError

CON = duckdb.connect()


def known(networks: KnownNetworks, ip: str | None, zone: str | None = None) -> bool:
    sql = f"SELECT {networks.sql('$ip', '$zone')}"
    params = {k: v for k, v in {"ip": ip, "zone": zone}.items() if f"${k}" in sql}
    row = CON.execute(sql, params).fetchone()
    assert row is not None
    return bool(row[0])


@st.composite
def network_and_address(draw: st.DrawFn) -> tuple[Network, str]:
    version = draw(st.sampled_from([4, 6]))
    base = draw(st.ip_addresses(v=version))
    prefix = draw(st.integers(0, base.max_prefixlen))
    network = ipaddress.ip_network(f"{base}/{prefix}", strict=False)
    # an address at an edge of the network (or the drawn one), give or take three
    edge = draw(st.sampled_from([network.network_address, network.broadcast_address, base]))
    number = min(max(int(edge) + draw(st.integers(-3, 3)), 0), 2**base.max_prefixlen - 1)
    address = ipaddress.IPv4Address(number) if version == 4 else ipaddress.IPv6Address(number)
    text = draw(st.sampled_from([str(address), address.exploded, str(address).upper()]))
    return network, text


@settings(max_examples=300, deadline=None)
@given(network_and_address())
def test_the_predicate_agrees_with_ipaddress(case: tuple[Network, str]) -> None:
    network, text = case
    expected = ipaddress.ip_address(text) in network
    assert known(KnownNetworks((network,), zones=False), text) is expected


@settings(max_examples=200, deadline=None)
@given(st.ip_addresses())
def test_addresses_become_numbers_and_digits(address: ipaddress.IPv4Address |
                                             ipaddress.IPv6Address) -> None:  # fmt: skip
    sql = ipv4_number_sql("$ip") if address.version == 4 else ipv6_hex_sql("$ip")
    row = CON.execute(f"SELECT {sql}", {"ip": str(address)}).fetchone()
    assert row is not None
    assert row[0] == (int(address) if address.version == 4 else f"{int(address):032x}")


@pytest.mark.parametrize(
    "text",
    ["", "null", "unknown", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1:2:3:4:5:6:7:8:9", "1::2::3",
     "12345::1", "fe80::1%eth0", "::ffff:1.2.3.4", "garbage", None],
)  # fmt: skip
def test_what_is_not_an_address_is_not_known(text: str | None) -> None:
    everything = KnownNetworks(parse_networks(["0.0.0.0/0", "::/0"]), zones=False)
    assert not known(everything, text)


@pytest.mark.parametrize(
    ("zone", "own"),
    [("HQ San Francisco", True), ("LegacyIpZone", True), ("null", False), ("OFF_NETWORK", False),
     ("BlockedIpZone", False), ("DefaultEnhancedDynamicZone", False), (None, False), ("", False)],
)  # fmt: skip
def test_zones_of_the_org_are_known(zone: str | None, own: bool) -> None:
    assert known(KnownNetworks(), "198.51.100.7", zone) is own
    assert not known(KnownNetworks(zones=False), "198.51.100.7", zone)


def test_the_setting_takes_cidrs_and_addresses_and_names_a_bad_one() -> None:
    loaded = load_settings(environ={"OKTA_ALERTS_KNOWN_NETWORKS": "203.0.113.0/24, 2001:db8::/32"})
    networks = KnownNetworks.from_settings(loaded)
    assert known(networks, "203.0.113.250") and known(networks, "2001:DB8::7")
    assert not known(networks, "203.0.114.1")
    assert networks.describe() == "Okta network zones and 203.0.113.0/24, 2001:db8::/32"
    with pytest.raises(ConfigError, match=r"OKTA_ALERTS_KNOWN_NETWORKS.*'10\.0\.0\.0/33' is not a"):
        load_settings(environ={"OKTA_ALERTS_KNOWN_NETWORKS": "10.0.0.0/8 10.0.0.0/33"})
