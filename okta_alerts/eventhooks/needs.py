"""The event types okta-alerts needs from Okta, and who needs each of them.

Every view is built on a list of event types (:mod:`okta_alerts.okta.eventtypes`): ``lockouts``,
``unlocks`` and ``assignment_errors`` each need theirs, and the views are what the notebooks,
the alert rules and ``okta-alerts query`` read, so every view's types are needed. On top of
that, a rule's ``where`` (and a notebook's own SQL) can name event types of the ``events`` view
(``event_type = 'event_hook.delivery'``): quoted names that Okta's catalog lists are needed too,
and ``'prefix.%'`` / ``'prefix.'`` patterns need the catalog's family. A family the views match
by prefix (``application.provision.group.*``) stays a family, so polling also finds types Okta
adds to it later. The ``hook_gaps`` view needs no types of its own: it compares the hook with
polling, so a rule that reads it asks polling to fetch the hook's types as well (see
:mod:`okta_alerts.eventhooks.plan`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import yaml

from okta_alerts.config import Settings
from okta_alerts.errors import ConfigError
from okta_alerts.okta import eventtypes as t
from okta_alerts.okta.eventcatalog import EventCatalog
from okta_alerts.read.views import VIEW_NAMES
from okta_alerts.resources import notebooks_dir

CROSS_CHECK_VIEW = "hook_gaps"
_LITERAL = re.compile(r"'([^']*)'")
_TYPE_NAME = re.compile(r"[a-z][a-z0-9_]*(\.[a-z0-9_]+)+")


@dataclass
class Needs:
    """Needed types (``name`` or ``prefix*``) and who needs each; who compares hook and poll."""

    types: dict[str, list[str]] = field(default_factory=dict)
    cross_check: list[str] = field(default_factory=list)  # readers of the hook_gaps view

    def add(self, names: Iterable[str], who: str) -> None:
        for name in names:
            users = self.types.setdefault(name, [])
            if who not in users:
                users.append(who)


def view_types(catalog: EventCatalog) -> dict[str, tuple[str, ...]]:
    """Each view's event types: exact names and ``prefix*`` families (``events``: any type)."""
    errors = [n for p in t.ERROR_PREFIXES for n in catalog.family(p, t.ERROR_SUFFIXES)]
    assignments = (
        *t.ASSIGNMENT_TYPES,
        *(prefix + "*" for prefix in t.ASSIGNMENT_PREFIXES),
        *t.ERROR_TYPES,
        *errors,
    )
    return {
        "events": (),
        "lockouts": t.LOCKOUT_TYPES,
        "unlocks": t.UNLOCK_TYPES,
        "assignment_errors": assignments,
        CROSS_CHECK_VIEW: (),
    }


def named_types(sql: str, catalog: EventCatalog) -> list[str]:
    """Event types a SQL text names in quotes: catalog names, and ``'prefix.%'`` families."""
    found: list[str] = []
    for literal in _LITERAL.findall(sql):
        if _TYPE_NAME.fullmatch(literal) and catalog.known(literal):
            found.append(literal)
        elif literal.endswith(("%", ".")):
            prefix = literal.rstrip("%")
            if prefix.endswith(".") and catalog.family(prefix):
                found.append(prefix + "*")
    return found


def collect_needs(settings: Settings, catalog: EventCatalog) -> Needs:
    """The types the views, the configured rules and the shipped notebooks need."""
    needs = Needs()
    by_view = view_types(catalog)
    for view in VIEW_NAMES:
        needs.add(by_view.get(view, ()), f"view {view}")
    for rule_id, view, where in configured_rules(settings.rules):
        if view == CROSS_CHECK_VIEW:
            needs.cross_check.append(f"rule {rule_id}")
        needs.add(named_types(where or "", catalog), f"rule {rule_id}")
    for name, code in notebook_code(notebooks_dir()):
        needs.add(named_types(code, catalog), f"notebook {name}")
    return needs


def configured_rules(path: Path) -> list[tuple[str, str, str | None]]:
    """(id, view, where) of each enabled rule in the rules file (checked by ``alerts check``)."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(
            f"cannot read the alert rules {path} ({exc}); check OKTA_ALERTS_RULES and run "
            "okta-alerts alerts check --dry-run"
        ) from None
    if isinstance(data, dict) and "rules" in data:
        data = data["rules"]
    rules: list[tuple[str, str, str | None]] = []
    for item in data if isinstance(data, list) else []:
        if not isinstance(item, dict) or item.get("enabled", True) is False:
            continue
        where = item.get("where")
        rules.append((str(item.get("id")), str(item.get("view")), _text(where)))
    return rules


def notebook_code(folder: Path) -> list[tuple[str, str]]:
    """(name, code) of every notebook in ``folder``: its code cells joined."""
    found = []
    for path in sorted(folder.glob("*.ipynb")):
        notebook: dict[str, Any] = orjson.loads(path.read_bytes())
        cells = [c for c in notebook.get("cells", []) if c.get("cell_type") == "code"]
        found.append((path.stem, "\n".join(_text(c.get("source")) or "" for c in cells)))
    return found


def _text(value: Any) -> str | None:
    if isinstance(value, list):
        return "".join(map(str, value))
    return None if value is None else str(value)
