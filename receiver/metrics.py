"""Prometheus metrics of one receiver (its own registry, so tests can build many apps)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class ReceiverMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.deliveries = Counter(
            "okta_alerts_deliveries",
            "Event-hook deliveries by outcome",
            ["outcome"],
            registry=self.registry,
        )
        self.events = Counter(
            "okta_alerts_events",
            "Events in deliveries by outcome (accepted, rejected)",
            ["outcome"],
            registry=self.registry,
        )
        self.out_of_range = Counter(
            "okta_alerts_events_out_of_range",
            "Acknowledged events published more than a day after they arrived (future), or "
            "before the retention (expired: the next compaction drops them), per delivery",
            ["when"],
            registry=self.registry,
        )
        self.connections_refused = Counter(
            "okta_alerts_connections_refused",
            "Connections answered and closed before the app saw a request, by reason "
            "(headers_too_large, header_timeout, body_timeout, too_many_connections, invalid_http)",
            ["reason"],
            registry=self.registry,
        )
        self.ack_seconds = Histogram(
            "okta_alerts_ack_seconds",
            "Time from request start to the acknowledgement of a delivery",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 1, 2.5, 5),
            registry=self.registry,
        )
        self.queue_depth = Gauge(
            "okta_alerts_queue_depth",
            "Deliveries waiting for the next journal commit",
            registry=self.registry,
        )
        self.seal_lag = Gauge(
            "okta_alerts_seal_lag_seconds",
            "Age of the oldest acknowledged event not yet visible to readers",
            registry=self.registry,
        )
        self.sealed = Counter(
            "okta_alerts_sealed_events",
            "Events published to readers by sealing (after duplicate removal)",
            registry=self.registry,
        )
        self.commits = Counter(
            "okta_alerts_journal_commits", "fsynced journal writes", registry=self.registry
        )
        self.stored = Gauge(
            "okta_alerts_stored_events", "Events visible to readers", registry=self.registry
        )
