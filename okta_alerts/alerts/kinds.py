"""The rule kinds as pydantic models, one per kind; :mod:`okta_alerts.alerts.rules` loads them.

A rule counts events of one view in the window ``[now - window, now)``, optionally per group
key, and fires by its ``kind`` (:data:`KINDS`). :class:`Rule` holds the fields every kind has;
:class:`ThresholdRule`, :class:`DistinctRule`, :class:`SpikeRule`, :class:`AbsenceRule` and
:class:`SprayRule` add their own, so a field of another kind is refused by name. Rules are
frozen.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    ValidationInfo,
    field_validator,
    model_validator,
)

from okta_alerts.alerts.validation import (
    UTC_ZONE,
    Duration,
    Zone,
    key_problem,
)
from okta_alerts.alerts.values import (
    Column,
    Columns,
    Count,
    Days,
    Flag,
    Hours,
    NonEmptyColumns,
    OptionalName,
    OptionalText,
    Positive,
    RuleId,
    RuleIds,
    Tags,
    Text,
    column_name,
    one_of,
)
from okta_alerts.read.views import VIEW_NAMES
from okta_alerts.times import format_duration, parse_duration

# kind -> what makes it fire. The README and the docs test read this table.
KINDS: dict[str, str] = {
    "threshold": "events in the window >= `threshold` (per group key)",
    "distinct": "distinct values of `field` in the window >= `threshold` (per group key)",
    "spike": "events in the window >= `factor` x the baseline mean per window, and >= "
    "`min_count`; with `new_only`, only keys with no events in the baseline",
    "absence": "no events at all in the window: the hook, Okta or the receiver is broken; with "
    "`baseline`, the window shrinks to a silence the quietest active hour of the baseline makes "
    "unlikely (at least `min_window`)",
    "spray": "distinct values of `field` per source (`group_by`) in the window >= `threshold`; a "
    "source with successful sign-ins in the baseline needs `familiar_factor` x as many; the "
    "org's known networks are left out or downgraded (`known_networks`)",
}
SEVERITIES = ("info", "warning", "high", "critical")
Kind = Annotated[str, PlainValidator(one_of(KINDS))]
# The report notebook whose report the digest points to, by the rule's view (field `report`).
VIEW_REPORTS: dict[str, str] = {
    "lockouts": "lockouts",
    "unlocks": "lockouts",
    "assignment_errors": "assignment_errors",
}
KNOWN_NETWORKS = ("downgrade", "exclude")


# -- the models ----------------------------------------------------------------------------


class RuleKind(BaseModel):
    """What is read of a rule first: its kind, which picks the model for the rest."""

    model_config = ConfigDict(extra="ignore")

    kind: Kind


class Rule(BaseModel):
    """The fields every rule has (the base of every kind's model)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: RuleId = Field(description="stable id: state, titles, silences")
    title: Text = Field("", description="headline in the digest (default: the id)")
    view: Annotated[str, PlainValidator(one_of(VIEW_NAMES))] = Field(
        description="the view to count"
    )
    where: OptionalText = Field(None, description="extra SQL filter over the view's columns")
    kind: Kind = Field(description="threshold | distinct | spike | absence")
    window: Duration = Field(description="count events in [now - window, now)")
    severity: Annotated[str, PlainValidator(one_of(SEVERITIES))] = Field(
        "warning", description="info | warning | high | critical"
    )
    cooldown: Duration = Field(
        timedelta(hours=1), description="no repeat for the same rule + key within this"
    )
    notify_tags: Tags = Field((), description="apprise tags to send to (default: every target)")
    resolve: Flag = Field(True, description="send a resolved message when it clears")
    active_hours: Hours = Field(
        None, description="only evaluate between these times, e.g. 08:00-18:00"
    )
    active_days: Days = Field(None, description="only evaluate on these days, e.g. mon-fri")
    timezone: Zone = Field(UTC_ZONE, description="time zone of active_hours and active_days")
    inhibit: RuleIds = Field(
        (), description="while this rule fires, the alerts of these rules are held back"
    )
    report: OptionalName = Field(
        None, description="the notebook whose report the digest points to (default: by view)"
    )
    enabled: Flag = Field(True, description="false skips the rule")

    @model_validator(mode="before")
    @classmethod
    def _title_defaults_to_the_id(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("title") is None and "id" in data:
            return {**data, "title": data["id"]}
        return data

    def active_at(self, now: datetime) -> bool:
        """Whether ``now`` is inside ``active_days`` and ``active_hours`` (local time)."""
        local = now.astimezone(self.timezone)
        if self.active_days is not None and local.weekday() not in self.active_days:
            return False
        if self.active_hours is None:
            return True
        start, end = self.active_hours
        clock = local.time().replace(tzinfo=None)
        return start <= clock < end if start <= end else (clock >= start or clock < end)


class CountingRule(Rule):
    """A rule that counts events, optionally per group key: every kind but absence."""

    group_by: Columns = Field((), description="one alert per value of these columns")
    top: Columns = Field((), description="columns whose most frequent values the digest lists")

    @model_validator(mode="before")
    @classmethod
    def _top_defaults_to_the_field(cls, data: Any) -> Any:
        """For a kind with a ``field``, ``top`` defaults to ``[field]`` (a bad ``field`` is
        reported as itself, not as top)."""
        if "field" in cls.model_fields and isinstance(data, dict) and data.get("top") is None:
            try:
                return {**data, "top": [column_name(data.get("field"))]}
            except ValueError:
                pass
        return data


class ComparedRule(CountingRule):
    """A counting rule that may compare its window with the period before (the baseline)."""

    baseline: Annotated[timedelta | None, PlainValidator(parse_duration)] = Field(
        None, description="period before the window: normal"
    )

    @field_validator("baseline")
    @classmethod
    def _covers_the_window(
        cls, baseline: timedelta | None, info: ValidationInfo
    ) -> timedelta | None:
        window = info.data.get("window")
        if baseline is not None and window is not None and baseline < window:
            raise key_problem(f"must be at least the window ({format_duration(window)})")
        return baseline


class ThresholdRule(ComparedRule):
    """Fires at ``threshold`` events or more in the window (per group key)."""

    kind: Literal["threshold"]
    threshold: Count = Field(description="fire at this count or more")


class DistinctRule(CountingRule):
    """Fires at ``threshold`` distinct values of ``field`` or more (per group key)."""

    kind: Literal["distinct"]
    threshold: Count = Field(description="fire at this count or more")
    field: Column = Field(description="column whose distinct values count")


class SpikeRule(ComparedRule):
    """Fires at ``factor`` times the baseline mean per window or more, and ``min_count``."""

    kind: Literal["spike"]
    baseline: Duration
    factor: Positive = Field(3.0, description="times the baseline mean per window")
    min_count: Count = Field(1, description="and at least this many events")
    new_only: Flag = Field(False, description="only keys with no events in the baseline")


class AbsenceRule(Rule):
    """Fires when the window has no events at all; with a ``baseline``, the window shrinks to
    what the quietest active hour of the baseline makes unlikely, down to ``min_window``."""

    kind: Literal["absence"]
    baseline: Annotated[timedelta | None, PlainValidator(parse_duration)] = Field(
        None, description="period before the window: normal"
    )
    min_window: Duration = Field(
        timedelta(minutes=15), description="the shortest window a baseline may shrink it to"
    )

    @field_validator("min_window")
    @classmethod
    def _within_the_window(cls, shortest: timedelta, info: ValidationInfo) -> timedelta:
        window = info.data.get("window")
        if window is not None and shortest > window:
            raise key_problem(f"must be at most the window ({format_duration(window)})")
        return shortest


class SprayRule(CountingRule):
    """Fires at ``threshold`` distinct values of ``field`` per source or more; a source that
    had successful sign-ins in the ``baseline`` needs ``familiar_factor`` times as many, and
    rows from the org's known networks are left out or downgraded (``known_networks``)."""

    kind: Literal["spray"]
    group_by: NonEmptyColumns = Field(description="one alert per value of these columns")
    field: Column = Field(description="column whose distinct values count")
    threshold: Count = Field(description="fire at this count or more")
    baseline: Duration = Field(
        timedelta(days=14),
        description="period before the window: sign-ins there make a source familiar",
    )
    familiar_factor: Positive = Field(
        3.0, description="a familiar source needs this many times the threshold"
    )
    known_networks: Annotated[str, PlainValidator(one_of(KNOWN_NETWORKS))] = Field(
        "downgrade", description="downgrade | exclude: rows from the org's known networks"
    )
    known_severity: Annotated[str, PlainValidator(one_of(SEVERITIES))] = Field(
        "info", description="severity of a source in the org's known networks (downgrade)"
    )


def baseline_of(rule: Rule) -> timedelta | None:
    """The period before the window that ``rule`` compares with, if it has one."""
    return rule.baseline if isinstance(rule, ComparedRule) else None


def report_of(rule: Rule) -> str | None:
    """The notebook whose report the digest points to for ``rule``."""
    return rule.report or VIEW_REPORTS.get(rule.view)


def group_by_of(rule: Rule) -> tuple[str, ...]:
    """The columns ``rule`` counts per value of (none for an absence rule)."""
    return rule.group_by if isinstance(rule, CountingRule) else ()


RULE_MODELS: dict[str, type[Rule]] = {
    "threshold": ThresholdRule,
    "distinct": DistinctRule,
    "spike": SpikeRule,
    "absence": AbsenceRule,
    "spray": SprayRule,
}
assert tuple(RULE_MODELS) == tuple(KINDS)
