"""Okta's Event Types catalog as shipped in the package: its source, date and eligibility."""

from __future__ import annotations

from okta_alerts.okta.eventcatalog import load_catalog


def test_the_catalog_names_its_source_and_day() -> None:
    catalog = load_catalog()
    assert catalog.source["repo"] == "okta/okta-developer-docs"
    assert catalog.source["commit"] == "04b72a800a7f0f77c12a7edec18833db32aa6f6d"
    assert catalog.retrieved == "2026-12-02"
    assert "04b72a800a7f" in catalog.cite() and "2026-12-02" in catalog.cite()


def test_every_type_once_with_its_eligibility_and_a_short_description() -> None:
    catalog = load_catalog()
    assert len(catalog.types) == 1125
    assert sum(t.hook_eligible for t in catalog.types.values()) == 214
    assert all(len(t.description) <= 160 for t in catalog.types.values())
    assert sum(not t.description for t in catalog.types.values()) == 22  # none in the source


def test_the_facts_the_kit_relies_on() -> None:
    catalog = load_catalog()
    assert catalog.eligible("user.account.lock")
    assert not catalog.eligible("user.account.lock.limit")
    assert catalog.eligible("user.account.unlock_by_admin")
    assert not catalog.eligible("event_hook.delivery")
    assert catalog.known("event_hook.delivery")
    assert not catalog.eligible("app.realtimesync.import_failed")  # not in the catalog at all
    assert not catalog.known("app.realtimesync.import_failed")
    assert catalog.family("application.provision.group.") == (
        "application.provision.group.add",
        "application.provision.group.import",
        "application.provision.group.remove",
        "application.provision.group.update",
        "application.provision.group.verify_exists",
    )
    assert catalog.family("app.user_management.", ("_fail",)) == (
        "app.user_management.user_group_import.upsert_fail",
    )
