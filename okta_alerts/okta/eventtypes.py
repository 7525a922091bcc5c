"""Okta System Log event types this kit is about, as data.

Sources: Okta's Event Types catalog (developer.okta.com/docs/reference/api/event-types/),
which tags hook-eligible types `event-hook-eligible`, and Okta's help page "Provisioning
Integration Error Events". The catalog as read on 2026-12-02 is the CSV behind that page,
okta/okta-developer-docs `packages/@okta/vuepress-site/.vuepress/public/docs/okta-event-types.csv`
at commit 04b72a800a7f (newest release in it: 2026.05.0); "the 2026.05 catalog" below. The views
in :mod:`okta_alerts.read.views` and the docs test read these lists; change them here only.
"""

from okta_alerts.sql import in_list, literal

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

# The 2026.05 catalog: provisioning, import and group-push errors that the lists above miss (group
# push failures are `application.provision.group_push.*`, not `application.provision.group.*`;
# these `app.user_management.*` errors do not end in a failure suffix). None is hook-eligible
# but `...update.or.delete.failed.with.error`. Errors whatever their outcome.
CATALOG_ERROR_TYPES: tuple[str, ...] = (
    "application.provision.group_push.mapping.update.or.delete.failed",
    "application.provision.group_push.mapping.update.or.delete.failed.with.error",
    "application.provision.group_push.mapping.app.group.renamed.failed",
    "application.provision.group_push.mapping.deactivated.source.group.renamed.failed",
    "app.user_management.import.csv.line.error",
    "app.user_management.grouppush.mapping.created.from.rule.error.duplicate",
    "app.user_management.grouppush.mapping.created.from.rule.error.validation",
    "app.user_management.grouppush.mapping.created.from.rule.errors",
)

# The 2026.05 catalog: Microsoft Office 365 provisioning and sync errors, none hook-eligible (only
# the System Log API has them). All 43 `app.office365.api.error.*` types, the 4
# `app.office365.graph.api.error.*` types and two more; errors whatever their outcome. Older
# catalogs (2023.10) list four more `app.office365.api.error.*` names, so the view takes the two
# families whole (OFFICE365_ERROR_FAMILIES) and this list documents what the catalog names today.
OFFICE365_ERROR_TYPES: tuple[str, ...] = (
    "app.office365.api.error.ad.user",
    "app.office365.api.error.check.user.exists",
    "app.office365.api.error.create.user",
    "app.office365.api.error.deactivate.user",
    "app.office365.api.error.download.custom.objects",
    "app.office365.api.error.download.groups",
    "app.office365.api.error.download.users",
    "app.office365.api.error.endpoint.unavailable",
    "app.office365.api.error.get.company.dirsync.failure",
    "app.office365.api.error.get.company.dirsync.status.failure",
    "app.office365.api.error.get.company.dirsync.status.pending",
    "app.office365.api.error.get.object.ids.by.group.id",
    "app.office365.api.error.group.create.failure",
    "app.office365.api.error.group.create.failure.name.in.use",
    "app.office365.api.error.group.delete.failure",
    "app.office365.api.error.group.membership.update.failure",
    "app.office365.api.error.group.membership.update.group.not.found.failure",
    "app.office365.api.error.group.update.failure",
    "app.office365.api.error.group.update.failure.not.found",
    "app.office365.api.error.import.profile",
    "app.office365.api.error.push.password",
    "app.office365.api.error.push.profile",
    "app.office365.api.error.reactivate.user",
    "app.office365.api.error.remove.domain.federation.failure",
    "app.office365.api.error.remove.domain.federation.failure.access.denied",
    "app.office365.api.error.remove.domain.federation.failure.domain.not.found",
    "app.office365.api.error.revoke.refresh.token",
    "app.office365.api.error.set.company.dirsync.failure",
    "app.office365.api.error.set.company.dirsync.status.failure",
    "app.office365.api.error.set.domain.federation.failure",
    "app.office365.api.error.set.domain.federation.failure.access.denied",
    "app.office365.api.error.set.domain.federation.failure.domain.default",
    "app.office365.api.error.set.domain.federation.failure.domain.not.found",
    "app.office365.api.error.sync.contact",
    "app.office365.api.error.sync.finalize",
    "app.office365.api.error.sync.group",
    "app.office365.api.error.sync.not.activated",
    "app.office365.api.error.sync.set.attribute",
    "app.office365.api.error.sync.user",
    "app.office365.api.error.unable.to.create.graph.client",
    "app.office365.api.error.validate.admin.creds",
    "app.office365.api.error.validate.creds",
    "app.office365.api.error.x-ms-forwarded-client-ip-header.absent",
    "app.office365.graph.api.error.no.mailbox.found",
    "app.office365.graph.api.error.rate-limit.exceeded",
    "app.office365.graph.api.error.service.principal.creation.failed",
    "app.office365.graph.api.error.service.principal.msgraph.authentication.failure",
    "app.office365.error.importing.user",
    "app.office365.user.lifecycle.action.failed",
)
OFFICE365_ERROR_FAMILIES: tuple[str, ...] = (
    "app.office365.api.error.",
    "app.office365.graph.api.error.",
)

# Event Types catalog entries tagged `event-hook-eligible` among the types above (tested against
# okta/event-types.json). `application.provision.user.delete` and `.remove_entitlements` are not
# in the catalog at all (docs/okta.md §6): they stay in ASSIGNMENT_TYPES, never here.
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
        "app.user_management",
        "application.provision.group_push.mapping.update.or.delete.failed.with.error",
        "user.session.start",
        "user.authentication.auth_via_mfa",
    }
)


def office365_singles() -> tuple[str, ...]:
    """The Office 365 error types outside :data:`OFFICE365_ERROR_FAMILIES`."""
    return tuple(t for t in OFFICE365_ERROR_TYPES if not t.startswith(OFFICE365_ERROR_FAMILIES))


def assignment_error_predicate(column: str = "event_type", result: str = "outcome_result") -> str:
    """SQL predicate of docs/okta.md §4: an assignment or provisioning error."""
    assign = " OR ".join(
        [f"{column} IN {in_list(ASSIGNMENT_TYPES)}"]
        + [f"starts_with({column}, {literal(p)})" for p in ASSIGNMENT_PREFIXES]
    )
    listed = ERROR_TYPES + CATALOG_ERROR_TYPES + office365_singles()
    errors = " OR ".join(
        [f"{column} IN {in_list(listed)}"]
        + [f"starts_with({column}, {literal(p)})" for p in OFFICE365_ERROR_FAMILIES]
        + [
            f"(starts_with({column}, {literal(p)}) AND ends_with({column}, {literal(s)}))"
            for p in ERROR_PREFIXES
            for s in ERROR_SUFFIXES
        ]
    )
    return f"((({assign}) AND {result} = 'FAILURE') OR ({errors}))"
