"""Every typed error okta-alerts raises on purpose, with the exit code the CLI turns it into.

Messages say what to do; the CLI prints them as one line (no traceback). Exit codes, as the
README documents them: 1 failed, 2 bad settings or input, 3 the data dir or the alert state is
owned by another process, 4 a notification target failed, 5 Okta's API could not be read or
refused a change, 6 the running receiver refused a hand-off, 7 ``okta status`` found a problem.
"""


class OktaAlertsError(Exception):
    """Base class of every error this package raises on purpose."""

    exit_code = 1


# -- settings and input (exit 2) ---------------------------------------------------------------


class ConfigError(OktaAlertsError):
    """A setting is missing, unknown or has a bad value."""

    exit_code = 2


class RuleError(ConfigError):
    """An alert rules file is missing, malformed, or a rule's query does not run."""


class ScheduleError(ConfigError):
    """A schedule file is missing or malformed."""


class WindowError(ConfigError):
    """Window parameters that cannot describe a period of time."""


# -- deliveries and the store ------------------------------------------------------------------


class DeliveryError(OktaAlertsError):
    """An event-hook delivery was rejected; ``status`` is the HTTP status to answer with."""

    def __init__(self, status: int, error: str, detail: str) -> None:
        super().__init__(f"{error}: {detail}")
        self.status = status
        self.error = error
        self.detail = detail


class StoreError(OktaAlertsError):
    """The event store cannot do what was asked (disk, corrupt manifest, ...)."""


class StoreLockedError(StoreError):
    """Another writer (usually a running receiver) owns the data directory."""

    exit_code = 3


class StoreUnavailableError(StoreError):
    """The receiver's journal could not take a commit (disk full, I/O error, shutting down)."""


class HandoffError(StoreLockedError):
    """A receiver owns the data dir but could not be reached to take the events."""


class HandoffRefusedError(OktaAlertsError):
    """The receiver that owns the data dir answered, and refused the events (auth, size)."""

    exit_code = 6


class QueryError(OktaAlertsError):
    """A read-only query was refused or failed."""


# -- alerts, state, notifications --------------------------------------------------------------


class StateError(OktaAlertsError):
    """The alert state database (``data/state.duckdb``) cannot be read or written."""


class StateLockedError(StateError):
    """Another alerts or schedule command holds ``data/state.lock``."""

    exit_code = 3


class NotifyError(OktaAlertsError):
    """Apprise is misconfigured, or a notification could not be delivered (it stays pending)."""

    exit_code = 4


# -- reports -----------------------------------------------------------------------------------


class ReportError(OktaAlertsError):
    """A report could not be run or failed."""


class ReportParameterError(ReportError):
    """A report parameter is unknown or has a bad value (no kernel was started)."""

    exit_code = 2


# -- Okta's APIs -------------------------------------------------------------------------------


class SystemLogError(OktaAlertsError):
    """Okta's System Log API could not be read; the message says why and what to change."""

    exit_code = 5


class EventHookApiError(OktaAlertsError):
    """Okta's Event Hooks API refused or failed a call; ``status`` and Okta's ``summary`` of
    the answer (``errorCode: errorSummary: causes``) when it answered."""

    exit_code = 5

    def __init__(self, message: str, status: int | None = None, summary: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.summary = summary


class HookVerificationError(EventHookApiError):
    """Okta could not verify the event hook: its GET to the receiver did not get the challenge
    back (unreachable from Okta, not HTTPS, a wrong secret or header)."""


class PipelineUnhealthyError(OktaAlertsError):
    """``okta status`` found a problem in the pipeline; the message names the first one."""

    exit_code = 7


class CursorFileError(OktaAlertsError):
    """A saved System Log cursor file cannot be read."""


class BackfillError(OktaAlertsError):
    """A backfill cannot start as asked."""


class RetryableError(OktaAlertsError):
    """A 5xx answer or a network error: worth another try after a backoff."""


class StopRequestedError(OktaAlertsError):
    """A stop was requested while a long wait (rate limit, backoff) was in progress."""
