"""The echo self-test on real PortAudio devices (PulseAudio null sinks from .ci/devices.sh).

Speakers are simulated by a loopback from the `speaker` sink's monitor into `micfeed` (which the `mic`
source records) at reduced volume; headphones by no loopback. The loopback is removed afterwards.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from qwenvoice.audio.echo_selftest import Recommendation, run_echo_self_test


def _pactl(*args: str) -> str:
    return subprocess.run(["pactl", *args], check=True, capture_output=True, text=True, timeout=10).stdout


def _virtual_devices_present() -> bool:
    if shutil.which("pactl") is None:
        return False
    try:
        sinks = _pactl("list", "short", "sinks")
        sources = _pactl("list", "short", "sources")
    except (subprocess.SubprocessError, OSError):
        return False
    return "speaker" in sinks and "micfeed" in sinks and re.search(r"\bmic\b", sources) is not None


pytestmark = [
    pytest.mark.audio,
    pytest.mark.skipif(not _virtual_devices_present(), reason="needs the PulseAudio devices of .ci/devices.sh"),
]


def _sink_input_of_module(module: str) -> str:
    current = None
    for line in _pactl("list", "sink-inputs").splitlines():
        line = line.strip()
        if line.startswith("Sink Input #"):
            current = line.split("#", 1)[1]
        elif line.startswith("Owner Module:") and line.split(":", 1)[1].strip() == module and current:
            return current
    raise AssertionError(f"no sink input for module {module}")


@contextmanager
def speaker_leak(volume_percent: int, latency_ms: int = 60) -> Iterator[None]:
    """The speaker's output leaks into the mic, like a laptop without headphones."""
    module = _pactl("load-module", "module-loopback", "source=speaker.monitor", "sink=micfeed",
                    f"latency_msec={latency_ms}", "source_dont_move=true", "sink_dont_move=true").strip()
    try:
        _pactl("set-sink-input-volume", _sink_input_of_module(module), f"{volume_percent}%")
        time.sleep(0.3)  # let the loopback settle its latency
        yield
    finally:
        _pactl("unload-module", module)


def _loopbacks() -> list[str]:
    return [line for line in _pactl("list", "short", "modules").splitlines() if "module-loopback" in line]


def test_self_test_hears_no_echo_without_a_leak() -> None:
    before = _loopbacks()
    result = run_echo_self_test()
    assert not result.echo_detected, result
    assert result.recommendation is Recommendation.NO_ECHO
    assert _loopbacks() == before


def test_self_test_detects_the_leak_measures_it_and_recommends_full_duplex() -> None:
    before = _loopbacks()
    with speaker_leak(volume_percent=40, latency_ms=60):
        result = run_echo_self_test()
    assert _loopbacks() == before  # state restored
    assert result.echo_detected, result
    # 40 % PulseAudio volume is about -24 dB (cubic volume curve).
    assert 15.0 <= result.echo_return_loss_db <= 35.0, result
    # The recording starts 200 ms before playback; the loopback and buffers add tens of ms.
    assert 200.0 < result.delay_ms < 1500.0, result
    assert result.erle_db >= 15.0, result
    assert result.recommendation is Recommendation.FULL_DUPLEX_AEC, result
