"""The reconnect schedule: exponential, capped, jittered within bounds, bounded in attempts."""

from __future__ import annotations

import random

import pytest

from qwenvoice.net.backoff import NO_RECONNECT, ReconnectPolicy


def test_base_delays_double_until_the_cap() -> None:
    policy = ReconnectPolicy(initial_delay=0.5, max_delay=8.0, factor=2.0, jitter=0.0)
    assert [policy.base_delay(n) for n in range(1, 8)] == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    assert policy.base_delay(10_000) == 8.0  # no overflow


def test_jitter_stays_within_its_band_and_varies() -> None:
    policy = ReconnectPolicy(initial_delay=1.0, max_delay=8.0, jitter=0.25)
    rng = random.Random(7)
    for attempt in range(1, 9):
        base = policy.base_delay(attempt)
        samples = [policy.delay(attempt, rng) for _ in range(200)]
        assert min(samples) >= base * 0.75 - 1e-9
        assert max(samples) <= min(8.0, base * 1.25) + 1e-9
        assert len({round(s, 6) for s in samples}) > 50  # really random, not one value


def test_attempts_are_bounded() -> None:
    policy = ReconnectPolicy(max_attempts=3)
    assert [policy.allows(n) for n in range(5)] == [False, True, True, True, False]
    assert not NO_RECONNECT.allows(1)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"initial_delay": -1.0},
        {"initial_delay": 5.0, "max_delay": 1.0},
        {"factor": 0.5},
        {"jitter": 1.0},
        {"max_attempts": -1},
    ],
)
def test_nonsense_policies_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        ReconnectPolicy(**kwargs)  # type: ignore[arg-type]


def test_attempt_numbers_start_at_one() -> None:
    with pytest.raises(ValueError):
        ReconnectPolicy().base_delay(0)
