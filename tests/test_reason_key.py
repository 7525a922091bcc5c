"""The reason key of the ``assignment_errors`` view, on reasons shaped like Okta's published ones.

The texts follow Okta's Help page "Troubleshoot provisioning" and Okta Support articles about
provisioning errors (Salesforce, Forest Admin, Qualified, TravelPerk, Snowflake, Microsoft Office
365), where Okta shows ``<Okta message>: <app's message>``; the users, logins and ids in them are
varied here the way real events vary them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest

from okta_alerts.okta.reasons import reason_key_sql
from tests.support.factories import make_event

CON = duckdb.connect()
KEY = f"SELECT {reason_key_sql('$reason')}"


def key(reason: str | None) -> str | None:
    row = CON.execute(KEY, {"reason": reason}).fetchone()
    assert row is not None
    return row[0]


def for_users(template: str, users: Iterable[tuple[str, str]]) -> set[str | None]:
    return {key(template.format(name=name, login=login)) for name, login in users}


USERS = [("John Doe", "john.doe@acme.com"), ("Jane Roe", "jroe@example.org"),
         ("María José O'Neil-Núñez", "mj.oneil+okta@sub.example.co.uk")]  # fmt: skip
PUSH = "Automatic provisioning of user {name} to app Salesforce.com failed: "
O365 = (
    "Automatic profile push of user {name} to app Microsoft Office 365 failed: Could not push "
    "profile for Office 365 user received error: Received response with HTTP status code 400. "
    'httpStatusCode=400 errorCode=Request_BadRequest errorMessage="Unable to update the '
    "specified properties for on-premises mastered Directory Sync objects or objects currently "
    'undergoing migration." client-request-id={request} request-id={request2} '
    "timestamp='{stamp}' method=PATCH url=https://graph.microsoft.com/v1.0/users/{request3}"
)
SAME_CAUSE = [
    PUSH + "The credentials used to connect to the API were invalid; please check your "
    "configuration",
    PUSH + "Matching user not found.",
    PUSH + "Error while verifying if user {login} exists: Unauthorized. Errors reported by remote "
    "server: Invalid SCIM token, please check your configuration",
    "Automatic provisioning of user {name} to app TravelPerk failed: Error while creating user "
    '{name} : Conflict. Errors reported by remote server: A user with userName "{login}" already '
    "exists. The userName must be unique.",
    "Automatic provisioning of user {login} to app Snowflake failed: Error while creating user "
    "{login}: Conflict. Errors reported by remote server: User exists with given userName and/or "
    "enterprise:user.snowflakeUserName",
    "Error while creating user {login}: Conflict. Errors reported by remote server: {login} is "
    "not unique",
    'Internal Server Error. Errors reported by the connector : {{"Errors":{{"description":'
    '"user_creation_failed (username={login})","code":500}}}}',
]


@pytest.mark.parametrize("template", SAME_CAUSE, ids=lambda t: t[40:80])
def test_one_cause_is_one_key_whoever_the_user(template: str) -> None:
    keys = for_users(template, USERS)
    assert len(keys) == 1
    (found,) = keys
    assert found is not None
    for name, login in USERS:
        assert name not in found and login not in found


def test_office365_ids_and_times_vary_the_reason_not_the_key() -> None:
    first = O365.format(name="John Doe", request="3f1c2a3b-1111-4e2d-9abc-0123456789ab",
                        request2="0a1b2c3d-2222-4e2d-9abc-0123456789ab",
                        stamp="Tue, 01 Nov 2022 15:52:08 GMT",
                        request3="4f9a0c1e-3333-4e2d-9abc-0123456789ab")  # fmt: skip
    second = O365.format(name="Jane Roe", request="7e2d3c4b-aaaa-4e2d-9abc-0123456789ab",
                         request2="1b2c3d4e-bbbb-4e2d-9abc-0123456789ab",
                         stamp="Wed, 02 Nov 2022 09:01:17 GMT",
                         request3="5a0b1c2d-cccc-4e2d-9abc-0123456789ab")  # fmt: skip
    assert key(first) == key(second)
    assert "status code 400" in str(key(first)) and "httpStatusCode=400" in str(key(first))


@pytest.mark.parametrize(
    ("reason", "expected"),
    [(PUSH.format(name="John Doe") + "Error while verifying if user jdoe@acme.com exists: "
      "Unauthorized. Errors reported by remote server: Unauthorized",
      "Automatic provisioning of user <user> to app <app> failed: Error while verifying if user "
      "<user> exists: Unauthorized. Errors reported by remote server: Unauthorized"),
     ("Username must be in the form of an email address (for example, john@acme.com): Username",
      "Username must be in the form of an email address (for example, <email>): Username"),
     ("User was assigned this application before Provisioning was enabled and not provisioned in "
      "the downstream application. Click Provision User.",
      "User was assigned this application before Provisioning was enabled and not provisioned in "
      "the downstream application. Click Provision User."),
     ("Error reading line 57 of users.csv   (user 00u1abcdEFGH2345ijk7)",
      "Error reading line <n> of users.csv (user <id>)"),
     ("  ", None), (None, None)],
)  # fmt: skip
def test_keys_read_like_the_reason(reason: str | None, expected: str | None) -> None:
    assert key(reason) == expected


@pytest.mark.parametrize(
    ("a", "b"),
    [("Unauthorized. Errors reported by remote server: Unauthorized",
      "Conflict. Errors reported by remote server: User exists"),
     ("Received response with HTTP status code 400", "Received response with HTTP status code 429"),
     (PUSH.format(name="A B") + "Matching user not found.",
      PUSH.format(name="A B") + "The credentials used to connect to the API were invalid")],
)  # fmt: skip
def test_different_causes_keep_different_keys(a: str, b: str) -> None:
    assert key(a) != key(b)


# -- the view --------------------------------------------------------------------------------

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def test_the_view_keys_reasons_and_leaves_okta_out_of_user_login(
    fill_store: Callable[[list[dict[str, Any]]], int], data_dir: Path
) -> None:
    from okta_alerts import connect

    system = {"id": "0oa1kt4s7st3m0000000", "type": "SystemPrincipal",
              "alternateId": "system@okta.com", "displayName": "Okta System"}  # fmt: skip
    events = [
        make_event("application.provision.user.push", NOW - timedelta(minutes=i), result="FAILURE",
                   reason=PUSH.format(name=name) + "Matching user not found.",
                   app="Salesforce.com", user=login, actor=login)
        for i, (name, login) in enumerate(USERS)
    ]  # fmt: skip
    app_level = make_event("application.integration.rate_limit_exceeded", NOW, result="FAILURE",
                           reason="API rate limit exceeded", app="Box",
                           debugContext={"debugData": {"appname": "box"}})  # fmt: skip
    app_level["actor"] = system
    fill_store([*events, app_level])
    con = connect(data_dir)
    rows = con.execute(
        "SELECT user_login, reason, reason_key, app_key FROM assignment_errors ORDER BY published"
    ).fetchall()
    assert [r[0] for r in rows] == [login for _, login in reversed(USERS)] + [None]
    assert len({r[1] for r in rows[:3]}) == 3 and len({r[2] for r in rows[:3]}) == 1
    assert (
        rows[0][2]
        == "Automatic provisioning of user <user> to app <app> failed: Matching user not found."
    )
    assert rows[3][1:] == ("API rate limit exceeded", "API rate limit exceeded", "box")
