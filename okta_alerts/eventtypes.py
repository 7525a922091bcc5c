"""Okta System Log event types this kit is about, as data.

Sources: Okta's Event Types catalog (developer.okta.com/docs/reference/api/event-types/),
which tags hook-eligible types `event-hook-eligible`, and Okta's help page "Provisioning
Integration Error Events". The views in :mod:`okta_alerts.reader` and the docs test read these
lists; change them here only.
"""

# Event Types catalog: the account is locked (auto-lock; lock.limit is not hook-eligible).
LOCKOUT_TYPES: tuple[str, ...] = (
    "user.account.lock",
    "user.account.lock.limit",
)

# Event Types catalog: automatic and administrator unlocks.
UNLOCK_TYPES: tuple[str, ...] = (
    "user.account.unlock",
    "user.account.unlock_by_admin",
)

# Event Types catalog: unlock attempts around a lockout (not hook-eligible): a failed unlock job
# and a self-service unlock token. Polled for context; not part of the unlocks view.
UNLOCK_RELATED_TYPES: tuple[str, ...] = (
    "user.account.unlock_failure",
    "user.account.unlock_token",
)

# Event Types catalog: user/group assignment to applications and provisioning steps. An event of
# one of these types is an assignment error when its outcome.result is FAILURE.
ASSIGNMENT_TYPES: tuple[str, ...] = (
    "application.user_membership.add",
    "application.user_membership.remove",
    "application.user_membership.update",
    "application.user_membership.change_password",
    "group.application_assignment.add",
    "group.application_assignment.remove",
    "group.application_assignment.update",
    "application.provision.user.push",
    "application.provision.user.push_profile",
    "application.provision.user.sync",
    "application.provision.user.reactivate",
    "application.provision.user.import_profile",
    "application.provision.user.delete",
    "application.provision.user.remove_entitlements",
    "application.provision.user.deactivate",
    "application.provision.user.verify_exists",
    "application.provision.user.password",
    "application.provision.user.import",
    "application.provision.user.deprovision",
)

# Prefixes of assignment/provisioning families whose members are listed by Okta's help page
# "Provisioning Integration Error Events" (group membership and group push).
ASSIGNMENT_PREFIXES: tuple[str, ...] = (
    "application.provision.group_membership.",
    "application.provision.group.",
)

# "Provisioning Integration Error Events": integration, configuration and sync errors. An event of
# one of these types is an assignment error whatever its outcome.
ERROR_TYPES: tuple[str, ...] = (
    "application.integration.authentication_failure",
    "application.integration.general_failure",
    "application.integration.rate_limit_exceeded",
    "application.integration.api_query",
    "application.integration.transfer_files",
    "application.configuration.import_schema",
    "application.configuration.update",
    "application.configuration.detect_error",
    "app.app_instance.provision_sync_job.failed",
    "app.realtimesync.import_failed",
)

# Same page: `app.user_management.*` error events (import and group-push failures) end like this.
ERROR_SUFFIXES: tuple[str, ...] = ("_failed", "_fail", ".failure", "_failure")
ERROR_PREFIXES: tuple[str, ...] = ("app.user_management.",)

# Event Types catalog entries tagged `event-hook-eligible` among the types above.
HOOK_ELIGIBLE: frozenset[str] = frozenset(
    {
        "user.account.lock",
        "user.account.unlock",
        "user.account.unlock_by_admin",
        "application.user_membership.add",
        "application.user_membership.remove",
        "application.user_membership.update",
        "application.user_membership.change_password",
        "group.application_assignment.add",
        "group.application_assignment.remove",
        "group.application_assignment.update",
        "application.provision.user.push",
        "application.provision.user.push_profile",
        "application.provision.user.sync",
        "application.provision.user.reactivate",
        "application.provision.user.import_profile",
        "application.provision.user.delete",
        "application.provision.user.remove_entitlements",
        "app.user_management",
        "user.session.start",
        "user.authentication.auth_via_mfa",
    }
)


def sql_list(values: tuple[str, ...] | frozenset[str]) -> str:
    """Render constant type names as a SQL list literal (they are code constants, not input)."""
    return "(" + ", ".join("'" + v.replace("'", "''") + "'" for v in sorted(values)) + ")"


def assignment_error_predicate(column: str = "event_type", result: str = "outcome_result") -> str:
    """SQL predicate of OKTA.md §4: an assignment or provisioning error."""
    assign = " OR ".join(
        [f"{column} IN {sql_list(ASSIGNMENT_TYPES)}"]
        + [f"starts_with({column}, '{p}')" for p in ASSIGNMENT_PREFIXES]
    )
    errors = " OR ".join(
        [f"{column} IN {sql_list(ERROR_TYPES)}"]
        + [
            f"(starts_with({column}, '{p}') AND ends_with({column}, '{s}'))"
            for p in ERROR_PREFIXES
            for s in ERROR_SUFFIXES
        ]
    )
    return f"((({assign}) AND {result} = 'FAILURE') OR ({errors}))"
