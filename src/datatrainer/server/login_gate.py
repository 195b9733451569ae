"""What keeps bad logins from starving the server: a per-client budget of failures and a cap on password
checks running at once.

Each check is an Argon2 hash that holds a thread-pool thread for tens of milliseconds on purpose, and the pool
is small (4 threads on SQLite). So at most `hashing` checks run at once (fewer than the pool: annotators'
requests always find a thread), further logins wait on the event loop without holding a thread, and a queue
longer than `queue` is answered 429 at once. Independently, a client address that failed `burst` times is
refused (429) until its budget refills at `refill_per_minute`; the per-name lockout in the catalog
(`security/throttle.py`) covers attackers spread over many addresses.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
from fastapi import HTTPException

MAX_CLIENTS = 10_000  # addresses remembered; the oldest are forgotten first


class LoginGate:
    def __init__(self, hashing: int, queue: int = 64, burst: int = 20, refill_per_minute: float = 10.0) -> None:
        self.hashing = max(1, hashing)
        self.queue = queue
        self.burst = burst
        self.refill_per_s = refill_per_minute / 60
        self._slots: anyio.Semaphore | None = None
        self._waiting = 0
        self._budgets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # client -> (failures left, when)

    def _budget(self, client: str, now: float) -> float:
        left, when = self._budgets.get(client, (float(self.burst), now))
        return min(float(self.burst), left + (now - when) * self.refill_per_s)

    def admit(self, client: str) -> None:
        """Take one failure from the client's budget before its password is checked (429 when none is left);
        `succeeded` gives it back. Taken up front, so attempts sent at once cannot all pass before any fails."""
        now = time.monotonic()
        left = self._budget(client, now)
        if left < 1:
            wait = math.ceil((1 - left) / self.refill_per_s)
            raise HTTPException(429, f"too many failed logins from this address: try again in {wait} s",
                                headers={"Retry-After": str(wait)})
        self._budgets[client] = (left - 1, now)
        self._budgets.move_to_end(client)
        while len(self._budgets) > MAX_CLIENTS:
            self._budgets.popitem(last=False)

    def succeeded(self, client: str) -> None:
        now = time.monotonic()
        self._budgets[client] = (min(float(self.burst), self._budget(client, now) + 1), now)

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """One of the `hashing` password-check slots; 429 when too many logins already wait."""
        if self._slots is None:
            self._slots = anyio.Semaphore(self.hashing)
        if self._waiting >= self.queue:
            raise HTTPException(429, "too many logins at once: try again in a moment", headers={"Retry-After": "1"})
        self._waiting += 1
        try:
            await self._slots.acquire()
        finally:
            self._waiting -= 1
        try:
            yield
        finally:
            self._slots.release()
