"""Alerts: the rules file (``rules``, its values and the ``validation`` helper it shares with
the schedule), each rule's query (``queries``), pure evaluation over the views (``evaluate``),
alert state (``state``), the digest (``digest``), apprise delivery (``notify``), and the check
that ties them together (``check``)."""
