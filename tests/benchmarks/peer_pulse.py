"""A private PulseAudio for the benchmark: the same virtual devices as `.ci/devices.sh` (`speaker`,
`micfeed`, `mic`), in a runtime directory of its own.

Timing at the speaker monitor only means something if nothing else plays there. On a machine where
tests run beside the benchmark they share the user's PulseAudio, so the benchmark starts its own
daemon (not daemonised: it is our child, stopped by its pid) and points every process it starts at it
through `XDG_RUNTIME_DIR` and `PULSE_SERVER`. It also stays out of the way of those tests.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
DEVICES_PA = ROOT / ".ci" / "virtual-audio.pa"


class PrivatePulse:
    def __init__(self) -> None:
        self.dir = ""
        self.proc: subprocess.Popen[bytes] | None = None
        self.saved: dict[str, str | None] = {}

    def __enter__(self) -> PrivatePulse:
        if shutil.which("pulseaudio") is None:
            raise SystemExit("pulseaudio is not installed (packaging/bootstrap.sh installs it)")
        self.dir = tempfile.mkdtemp(prefix="qwenvoice-bench-pulse-")
        os.chmod(self.dir, 0o700)
        env = dict(os.environ, XDG_RUNTIME_DIR=self.dir)
        env.pop("PULSE_SERVER", None)
        self.proc = subprocess.Popen(
            ["pulseaudio", "--daemonize=no", "--exit-idle-time=-1", "--disallow-exit=yes", "-n",
             f"--file={DEVICES_PA}", "--use-pid-file=no", "--log-target=stderr", "--log-level=error"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        socket = Path(self.dir) / "pulse" / "native"
        for key, value in (("XDG_RUNTIME_DIR", self.dir), ("PULSE_SERVER", f"unix:{socket}")):
            self.saved[key] = os.environ.get(key)
            os.environ[key] = value
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if subprocess.run(["pactl", "info"], capture_output=True).returncode == 0:
                break
            if self.proc.poll() is not None:
                raise SystemExit("the benchmark's PulseAudio did not start")
            time.sleep(0.1)
        else:
            self.__exit__(None, None, None)
            raise SystemExit("the benchmark's PulseAudio did not answer")
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for key, value in self.saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        shutil.rmtree(self.dir, ignore_errors=True)
