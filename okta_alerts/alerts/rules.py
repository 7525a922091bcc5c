"""Alert rules: the YAML format, the table of every field, and loading a rules file.

The models of the kinds are :mod:`okta_alerts.alerts.kinds` (re-exported here). A rule's
``kind`` is validated first and picks the model for the rest; every error names the rule and
the field (:func:`okta_alerts.alerts.validation.explain`). :data:`FIELDS` describes every field,
from the models. Their query is :mod:`okta_alerts.alerts.queries`, their evaluation
:mod:`okta_alerts.alerts.evaluate`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from okta_alerts.alerts.kinds import (
    KINDS,
    RULE_MODELS,
    SEVERITIES,
    AbsenceRule,
    ComparedRule,
    CountingRule,
    DistinctRule,
    Rule,
    RuleKind,
    SpikeRule,
    SprayRule,
    ThresholdRule,
    baseline_of,
    group_by_of,
    report_of,
)
from okta_alerts.alerts.validation import Wording, explain, read_yaml
from okta_alerts.errors import RuleError

__all__ = [
    "FIELDS",
    "KINDS",
    "RULE_MODELS",
    "SEVERITIES",
    "AbsenceRule",
    "ComparedRule",
    "CountingRule",
    "DistinctRule",
    "Rule",
    "RuleField",
    "SpikeRule",
    "SprayRule",
    "ThresholdRule",
    "baseline_of",
    "group_by_of",
    "load_rules",
    "parse_rule",
    "parse_rules",
    "report_of",
]


# -- the field table -----------------------------------------------------------------------


@dataclass(frozen=True)
class RuleField:
    """One field of a rule, as the models define it: meaning, kinds taking and needing it."""

    name: str
    doc: str
    kinds: tuple[str, ...]
    required: tuple[str, ...]


def _describe_fields() -> tuple[RuleField, ...]:
    """Every field of every kind: what to count first (the kinds' own fields after ``window``),
    then how to announce it."""
    models: list[type[Rule]] = [Rule, *RULE_MODELS.values()]
    common = list(Rule.model_fields)
    cut = common.index("window") + 1
    own = [n for m in RULE_MODELS.values() for n in m.model_fields if n not in common]
    described = []
    for name in dict.fromkeys([*common[:cut], *own, *common[cut:]]):
        having = {k: m.model_fields[name] for k, m in RULE_MODELS.items() if name in m.model_fields}
        docs = [m.model_fields[name].description for m in models if name in m.model_fields]
        needing = tuple(k for k, info in having.items() if info.is_required())
        described.append(RuleField(name, next(d for d in docs if d), tuple(having), needing))
    return tuple(described)


# Every key a rule may have. The README and the docs test read this table.
FIELDS: tuple[RuleField, ...] = _describe_fields()
_NAMES = tuple(f.name for f in FIELDS)


def _wording(kind: str | None) -> Wording:
    """How errors of a rule of ``kind`` name its fields (None: the kind itself is wrong)."""
    own = [f.name for f in FIELDS if kind in f.required and f.required != tuple(KINDS)]
    return Wording("field", _NAMES, {name: f" for kind {kind!r}" for name in own}, f"kind {kind!r}")


_WORDING = {kind: _wording(kind) for kind in [*KINDS, None]}


# -- loading -------------------------------------------------------------------------------


def parse_rule(raw: Any, position: int) -> Rule:
    """Validate one rule mapping: its kind first, then the kind's model. Errors name the rule
    (or its position) and the field; a field set to null counts as not set."""
    label = f"rule #{position}"
    if not isinstance(raw, dict):
        raise RuleError(f"{label}: must be a mapping of fields, not {type(raw).__name__}")
    if isinstance(raw.get("id"), str):
        label = f"rule {raw['id']!r}"
    values = {k: v for k, v in raw.items() if v is not None or k not in _NAMES}
    kind = None
    try:
        kind = RuleKind.model_validate(values).kind
        return RULE_MODELS[kind].model_validate(values)
    except ValidationError as exc:
        raise RuleError(explain(exc, _WORDING[kind], lambda _: label)) from None


def parse_rules(data: Iterable[Any]) -> list[Rule]:
    """Validate a list of rule mappings; ids are unique."""
    rules: list[Rule] = []
    seen: set[str] = set()
    for position, raw in enumerate(data, start=1):
        rule = parse_rule(raw, position)
        if rule.id in seen:
            raise RuleError(f"rule {rule.id!r}: field 'id' is used by two rules")
        seen.add(rule.id)
        rules.append(rule)
    for rule in rules:
        for other in rule.inhibit:
            if other not in seen or other == rule.id:
                what = "itself" if other == rule.id else f"no rule {other!r}"
                raise RuleError(f"rule {rule.id!r}: field 'inhibit': {what} (rules inhibit others)")
    return rules


def load_rules(path: str | Path) -> list[Rule]:
    """Read and validate a rules file: a YAML list of rules (or a mapping with ``rules:``)."""
    path = Path(path)
    data = read_yaml(path, "rules", "OKTA_ALERTS_RULES", RuleError)
    if isinstance(data, dict) and set(data) == {"rules"}:
        data = data["rules"]
    if data is None:
        data = []
    if not isinstance(data, list):
        raise RuleError(f"rules file {path} must be a list of rules")
    try:
        return parse_rules(data)
    except RuleError as exc:
        raise RuleError(f"{path}: {exc}") from None
