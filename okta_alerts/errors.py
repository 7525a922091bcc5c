"""Typed errors. Every message says what to do; the CLI prints it as one line."""


class OktaAlertsError(Exception):
    """Base class of every error this package raises on purpose."""

    exit_code = 1


class ConfigError(OktaAlertsError):
    """A setting is missing, unknown or has a bad value."""

    exit_code = 2


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


class QueryError(OktaAlertsError):
    """A read-only query was refused or failed."""


class RuleError(ConfigError):
    """An alert rules file is missing, malformed, or a rule's query does not run."""


class ScheduleError(ConfigError):
    """A schedule file is missing or malformed."""


class StateError(OktaAlertsError):
    """The alert state database (``data/state.duckdb``) cannot be read or written."""


class StateLockedError(StateError):
    """Another alerts or schedule command holds ``data/state.lock``."""

    exit_code = 3


class NotifyError(OktaAlertsError):
    """Apprise is misconfigured, or a notification could not be delivered (it stays pending)."""

    exit_code = 4
