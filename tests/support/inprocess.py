"""The receiver's app called in process through httpx (``receiver_app`` fixture)."""

from __future__ import annotations

from typing import Any

import anyio

import okta_alerts
from okta_alerts.config import Settings

SECRET = "in-process-secret-0123456789"


class InProcessReceiver:
    """The receiver's app (lifespan running) and an httpx client that calls it in process."""

    def __init__(self, client: Any, settings: Settings) -> None:
        self.client = client
        self.settings = settings

    async def sealed(self, timeout: float = 10.0) -> None:
        """Wait until every acknowledged event is visible to readers.

        ``/healthz`` rounds the lag to milliseconds, so an acknowledgement made less than half
        a millisecond ago reads as 0: the lag must read 0 twice, a few milliseconds apart.
        """
        with anyio.fail_after(timeout):
            zeros = 0
            while zeros < 2:
                lag = (await self.client.get("/healthz")).json()["store_lag_seconds"]
                zeros = zeros + 1 if lag == 0 else 0
                await anyio.sleep(0.005 if lag == 0 else 0.02)

    async def stored(self, where: str = "true") -> int:
        await self.sealed()
        con = okta_alerts.connect(self.settings.data_dir)
        try:
            row = con.execute(f"SELECT count(*) FROM events WHERE {where}").fetchone()
        finally:
            con.close()
        return int(row[0]) if row else 0
