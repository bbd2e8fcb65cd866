"""Reconnect schedule: exponential backoff with jitter and a bounded number of attempts."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ReconnectPolicy:
    """Delay before reconnect attempt ``n`` (1-based) is ``initial * factor**(n-1)`` capped at
    ``max_delay``, then spread by +/- ``jitter`` (a fraction) so that many clients cut off at once
    do not come back in lockstep. ``max_attempts`` consecutive failures end the connection;
    0 disables reconnecting.
    """

    initial_delay: float = 0.5
    max_delay: float = 8.0
    factor: float = 2.0
    jitter: float = 0.25
    max_attempts: int = 6
    # A connection that stayed up at least this long counts as healthy: the attempt counter restarts.
    # Shorter-lived ones keep counting, so a server that accepts and drops at once cannot loop forever.
    stable_after: float = 10.0

    def __post_init__(self) -> None:
        if self.initial_delay < 0 or self.max_delay < self.initial_delay:
            raise ValueError("need 0 <= initial_delay <= max_delay")
        if self.factor < 1.0:
            raise ValueError("factor must be >= 1")
        if not 0.0 <= self.jitter < 1.0:
            raise ValueError("jitter must be in [0, 1)")
        if self.max_attempts < 0:
            raise ValueError("max_attempts must be >= 0")

    def base_delay(self, attempt: int) -> float:
        if attempt < 1:
            raise ValueError("attempts are numbered from 1")
        # Cap the exponent first so huge attempt numbers cannot overflow.
        exponent = min(attempt - 1, 64)
        return min(self.max_delay, self.initial_delay * self.factor**exponent)

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        base = self.base_delay(attempt)
        if self.jitter == 0.0:
            return base
        spread = (rng or random).uniform(-self.jitter, self.jitter)
        return max(0.0, min(self.max_delay, base * (1.0 + spread)))

    def allows(self, attempt: int) -> bool:
        return 1 <= attempt <= self.max_attempts


NO_RECONNECT = ReconnectPolicy(max_attempts=0)
