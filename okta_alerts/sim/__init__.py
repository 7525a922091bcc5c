"""The simulator: a population, realistic LogEvents with Okta's quirks, traffic with scenarios,
an Okta-like hook sender, and the demo. Production code never imports this package."""
