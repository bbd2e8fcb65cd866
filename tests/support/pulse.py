"""Throw-away PulseAudio devices for tests that pull a device out mid-stream (.ci/devices.sh runs the
daemon). Each test loads its own null sink and always unloads it, so the shared set-up stays as it was."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import time
from collections.abc import Iterator


def pulse_ready() -> bool:
    """True when the virtual devices of .ci/devices.sh are up (``speaker``, ``micfeed``, source ``mic``)."""
    if shutil.which("pactl") is None or shutil.which("parec") is None or shutil.which("paplay") is None:
        return False
    try:
        out = subprocess.run(["pactl", "list", "short", "sinks"], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return False
    return out.returncode == 0 and "speaker" in out.stdout and "micfeed" in out.stdout


class NullSink:
    """A null sink (its monitor is a source) that can be unplugged mid-test; ``close`` always unloads it."""

    def __init__(self, name: str, channels: int = 2, rate: int = 48000) -> None:
        self.name = name
        out = subprocess.run(
            ["pactl", "load-module", "module-null-sink", f"sink_name={name}", f"rate={rate}",
             f"channels={channels}", f"sink_properties=device.description={name}"],
            capture_output=True, text=True, check=True, timeout=10,
        )
        self.module: str | None = out.stdout.strip()
        # A low-latency reader keeps the null sink from rendering in 2 s blocks.
        self._reader: subprocess.Popen[bytes] | None = subprocess.Popen(
            ["parec", "--latency-msec=10", "-d", f"{name}.monitor", "--raw"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )

    @property
    def monitor(self) -> str:
        return f"{self.name}.monitor"

    def unplug(self) -> None:
        if self.module is not None:
            subprocess.run(["pactl", "unload-module", self.module], check=True, timeout=10)
            self.module = None

    def close(self) -> None:
        self.unplug()
        if self._reader is not None:
            self._reader.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._reader.wait(timeout=5)
            self._reader = None

    def present(self) -> bool:
        out = subprocess.run(["pactl", "list", "short", "sinks"], capture_output=True, text=True, timeout=10)
        return any(line.split("\t")[1:2] == [self.name] for line in out.stdout.splitlines())


def pactl(*args: str) -> str:
    return subprocess.run(["pactl", *args], check=True, capture_output=True, text=True, timeout=10).stdout


def sink_input_of_module(module: str) -> str:
    """The sink input a module (e.g. a loopback) plays through."""
    current = None
    for line in pactl("list", "sink-inputs").splitlines():
        line = line.strip()
        if line.startswith("Sink Input #"):
            current = line.split("#", 1)[1]
        elif line.startswith("Owner Module:") and line.split(":", 1)[1].strip() == module and current:
            return current
    raise AssertionError(f"no sink input for module {module}")


@contextlib.contextmanager
def speaker_leak(speaker: str, feed: str, volume_percent: int, latency_ms: int = 60) -> Iterator[None]:
    """The speaker sink's output leaks into the microphone feed sink, quieter, like a laptop without
    headphones (``module-loopback``); always unloaded."""
    module = pactl("load-module", "module-loopback", f"source={speaker}.monitor", f"sink={feed}",
                   f"latency_msec={latency_ms}", "source_dont_move=true", "sink_dont_move=true").strip()
    try:
        pactl("set-sink-input-volume", sink_input_of_module(module), f"{volume_percent}%")
        time.sleep(0.3)  # let the loopback settle its latency
        yield
    finally:
        pactl("unload-module", module)
