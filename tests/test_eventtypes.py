"""The event type lists: the assignment-error rule over them, and what polling fetches."""

from __future__ import annotations

import duckdb
import pytest

from okta_alerts.config import check_event_types, default_poll_event_types
from okta_alerts.okta import eventtypes as t
from okta_alerts.okta.eventcatalog import load_catalog

CON = duckdb.connect()
PREDICATE = f"SELECT {t.assignment_error_predicate('e', 'r')} FROM (SELECT ? AS e, ? AS r)"


def is_error(event_type: str, result: str) -> bool:
    found = CON.execute(PREDICATE, [event_type, result]).fetchone()
    assert found is not None
    return bool(found[0])


def polled(event_type: str) -> bool:
    return any(
        event_type.startswith(name[:-1]) if name.endswith("*") else event_type == name
        for name in default_poll_event_types()
    )


def test_the_catalog_lists_43_office365_api_errors() -> None:
    api = [n for n in t.OFFICE365_ERROR_TYPES if n.startswith("app.office365.api.error.")]
    assert len(api) == 43 and len(set(t.OFFICE365_ERROR_TYPES)) == len(t.OFFICE365_ERROR_TYPES)


@pytest.mark.parametrize("event_type", t.OFFICE365_ERROR_TYPES + t.CATALOG_ERROR_TYPES)
@pytest.mark.parametrize("result", ["SUCCESS", "FAILURE", "UNKNOWN"])
def test_catalog_error_types_are_errors_whatever_the_outcome(event_type: str, result: str) -> None:
    assert is_error(event_type, result)
    assert polled(event_type)
    check_event_types([event_type])  # a valid name for OKTA_ALERTS_POLL_EVENT_TYPES


def test_office365_families_take_names_older_catalogs_had() -> None:
    assert is_error("app.office365.api.error.no.endpoints.found", "SUCCESS")
    assert not is_error("app.office365.api.sync.complete", "SUCCESS")
    assert not is_error("app.office365.user.delete.success", "SUCCESS")


@pytest.mark.parametrize(
    ("event_type", "result", "error"),
    [("application.provision.user.push", "FAILURE", True),
     ("application.provision.user.push", "SUCCESS", False),
     ("app.user_management.user_group_import.upsert_success", "SUCCESS", False),
     ("app.user_management.user_group_import.upsert_fail", "SUCCESS", True),
     ("user.session.start", "FAILURE", False)],
)  # fmt: skip
def test_the_rule_of_docs_okta_section_4(event_type: str, result: str, error: bool) -> None:
    assert is_error(event_type, result) is error


def test_hook_eligible_types_are_listed_types() -> None:
    listed = set(t.LOCKOUT_TYPES + t.UNLOCK_TYPES + t.ASSIGNMENT_TYPES + t.CATALOG_ERROR_TYPES)
    listed |= {"app.user_management", "user.session.start", "user.authentication.auth_via_mfa"}
    assert listed >= t.HOOK_ELIGIBLE


def test_hook_eligible_types_are_what_the_catalog_says() -> None:
    catalog = load_catalog()
    assert all(catalog.eligible(name) for name in t.HOOK_ELIGIBLE)
    ours = set(t.LOCKOUT_TYPES + t.UNLOCK_TYPES + t.ASSIGNMENT_TYPES + t.CATALOG_ERROR_TYPES)
    assert {name for name in ours if catalog.eligible(name)} <= t.HOOK_ELIGIBLE
