"""Okta's event hook for this receiver, as code: ``okta-alerts okta connect`` and ``okta status``.

:mod:`~.needs` works out the event types the views, rules and notebooks need; :mod:`~.plan`
splits them by Okta's catalog into the hook's subscription and System Log polling; :mod:`~.api`
is the Event Hooks Management API client; :mod:`~.hook` the wanted hook and its differences;
:mod:`~.record` the fingerprint of what was last set; :mod:`~.pollconfig` the polling settings;
:mod:`~.connect` and :mod:`~.status` (with :mod:`~.pipeline`) the two commands. Only the CLI
imports this package.
"""
