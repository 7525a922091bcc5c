"""Helpers the tests share: builders of events and deliveries, a fake of Okta's API, a real
receiver process, an apprise catcher. Fixtures over them live in ``tests/conftest.py``."""
