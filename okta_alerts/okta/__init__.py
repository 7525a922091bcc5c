"""What Okta sends: event-hook envelopes, LogEvents, System Log pages, the event types this kit is
about and which of them Okta delivers by hook, and the columns extracted from each event."""
