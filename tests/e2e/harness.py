"""What the end-to-end tests stand on: a private X display, private PulseAudio devices, recorders of
what the speaker played and what the microphone heard, the app as a child process, and the
transcript comparison.

Everything here is real: Xvfb, PulseAudio null sinks, parec/paplay, xdotool, espeak-ng and the same
whisper tiny.en the offline server uses. Private devices (named after this process) keep the tests
apart from anything else using the shared ``speaker``/``micfeed`` sinks at the same time, and let
the speakers variant route the speaker into the microphone without making anyone else's app hear
itself.
"""

from __future__ import annotations

import contextlib
import difflib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts" / "e2e"
RATE = 16000
BLOCK = 320  # 20 ms at 16 kHz: the recorders' time resolution
QUIET_RMS = 0.01  # -40 dBFS: null sinks are digitally silent when the app plays nothing


# ----------------------------------------------------------------------------- environment


def tools_missing() -> list[str]:
    return [t for t in ("Xvfb", "xdotool", "pactl", "parec", "paplay", "espeak-ng", "sox", "import")
            if shutil.which(t) is None]


def pulse_running() -> bool:
    if shutil.which("pactl") is None:
        return False
    try:
        return subprocess.run(["pactl", "info"], capture_output=True, timeout=5).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def _pactl(*args: str) -> str:
    out = subprocess.run(["pactl", *args], capture_output=True, text=True, timeout=10)
    if out.returncode != 0:
        raise RuntimeError(f"pactl {' '.join(args)} failed: {out.stderr.strip()}")
    return out.stdout.strip()


class PrivateDisplay:
    """An Xvfb of our own (``-displayfd`` picks a free number); no window manager, like CI."""

    def __init__(self) -> None:
        read_end, write_end = os.pipe()
        self.process = subprocess.Popen(
            ["Xvfb", "-displayfd", str(write_end), "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
            pass_fds=(write_end,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        os.close(write_end)
        number = b""
        with os.fdopen(read_end, "rb") as pipe:
            while not number.endswith(b"\n"):
                chunk = pipe.read(1)
                if not chunk:
                    break
                number += chunk
        if not number.strip():
            self.process.kill()
            raise RuntimeError("Xvfb did not report a display number")
        self.name = f":{int(number)}"

    def set_key_repeat(self, on: bool) -> None:
        """Turn the server's key autorepeat on or off (XAutoRepeatOn/Off through libX11)."""
        import ctypes
        import ctypes.util

        x11 = ctypes.CDLL(ctypes.util.find_library("X11") or "libX11.so.6")
        x11.XOpenDisplay.restype = ctypes.c_void_p
        x11.XOpenDisplay.argtypes = [ctypes.c_char_p]
        for name in ("XAutoRepeatOn", "XAutoRepeatOff", "XFlush", "XCloseDisplay"):
            getattr(x11, name).argtypes = [ctypes.c_void_p]
        display = x11.XOpenDisplay(self.name.encode())
        if not display:
            raise RuntimeError(f"cannot open {self.name}")
        try:
            (x11.XAutoRepeatOn if on else x11.XAutoRepeatOff)(display)
            x11.XFlush(display)
        finally:
            x11.XCloseDisplay(display)

    def close(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)


class PrivateAudio:
    """Null sinks ``speaker``/``micfeed`` and the remapped source ``mic``, with a unique prefix, in
    the running PulseAudio. ``leak(percent)`` adds the speakers-in-the-room path: the speaker's
    monitor looped into the microphone feed at reduced volume."""

    def __init__(self) -> None:
        tag = f"qve2e{os.getpid()}"
        self.speaker = f"{tag}_speaker"
        self.micfeed = f"{tag}_micfeed"
        self.mic = f"{tag}_mic"
        self._modules: list[str] = []
        self._load("module-null-sink", f"sink_name={self.speaker}", "rate=48000", "channels=2",
                   f"sink_properties=device.description=E2ESpeaker{os.getpid()}")
        self._load("module-null-sink", f"sink_name={self.micfeed}", "rate=48000", "channels=1",
                   f"sink_properties=device.description=E2EMicFeed{os.getpid()}")
        self._load("module-remap-source", f"master={self.micfeed}.monitor", f"source_name={self.mic}",
                   "channels=1", f"source_properties=device.description=E2EMic{os.getpid()}")
        self._leak_module: str | None = None

    def _load(self, *args: str) -> str:
        index = _pactl("load-module", *args)
        self._modules.append(index)
        return index

    def leak(self, volume_percent: int) -> None:
        """Route what the speaker plays into the microphone (``module-loopback``, 20 ms), quieter."""
        if self._leak_module is not None:
            return
        self._leak_module = self._load("module-loopback", f"source={self.speaker}.monitor", f"sink={self.micfeed}",
                                       "latency_msec=20", "source_dont_move=true", "sink_dont_move=true")
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            for entry in json.loads(_pactl("-f", "json", "list", "sink-inputs") or "[]"):
                if str(entry.get("owner_module")) == self._leak_module:
                    _pactl("set-sink-input-volume", str(entry["index"]), f"{volume_percent}%")
                    return
            time.sleep(0.1)
        raise RuntimeError("the loopback's sink input did not appear")

    def unleak(self) -> None:
        if self._leak_module is not None:
            with contextlib.suppress(RuntimeError, OSError, subprocess.SubprocessError):
                _pactl("unload-module", self._leak_module)
            self._modules.remove(self._leak_module)
            self._leak_module = None

    def close(self) -> None:
        for index in reversed(self._modules):
            with contextlib.suppress(RuntimeError, OSError, subprocess.SubprocessError):
                _pactl("unload-module", index)
        self._modules.clear()


# ----------------------------------------------------------------------------- recording


class MonitorRecorder:
    """Records a PulseAudio source (16 kHz mono int16) from a reader thread, with the arrival time of
    every read. ``parec --latency-msec=10`` also keeps the null sink from rendering in 2 s blocks."""

    def __init__(self, source: str) -> None:
        self.source = source
        self._chunks: list[tuple[float, np.ndarray]] = []
        self._lock = threading.Lock()
        self.process = subprocess.Popen(
            ["parec", "-d", source, "--raw", "--format=s16le", "--rate=16000", "--channels=1", "--latency-msec=10"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        self._thread = threading.Thread(target=self._read, name=f"rec-{source}", daemon=True)
        self._thread.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        fd = self.process.stdout.fileno()
        pending = b""
        while True:
            try:
                data = os.read(fd, BLOCK * 2)
            except OSError:
                return
            if not data:
                return
            now = time.time()
            pending += data
            usable = len(pending) // 2 * 2
            if usable:
                samples = np.frombuffer(pending[:usable], dtype=np.int16).copy()
                pending = pending[usable:]
                with self._lock:
                    self._chunks.append((now, samples))

    def _stream(self) -> tuple[np.ndarray, np.ndarray]:
        """All samples so far and the time each one arrived (a chunk's last sample = its read time)."""
        with self._lock:
            chunks = list(self._chunks)
        if not chunks:
            return np.zeros(0, dtype=np.int16), np.zeros(0)
        samples = np.concatenate([c for _, c in chunks])
        times = np.concatenate([t - np.arange(len(c) - 1, -1, -1) / RATE for t, c in chunks])
        return samples, times

    def blocks(self, since: float, until: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(end time, RMS in full scale) of each 20 ms block recorded between the two times."""
        samples, times = self._stream()
        n = len(samples) // BLOCK
        if not n:
            return np.zeros(0), np.zeros(0)
        x = samples[: n * BLOCK].astype(np.float64).reshape(n, BLOCK) / 32768.0
        levels = np.sqrt(np.mean(x * x, axis=1))
        ends = times[BLOCK - 1 : n * BLOCK : BLOCK]
        keep = (ends >= since) & (ends <= (until if until is not None else np.inf))
        return ends[keep], levels[keep]

    def audio(self, since: float, until: float | None = None) -> np.ndarray:
        samples, times = self._stream()
        keep = (times >= since) & (times <= (until if until is not None else np.inf))
        return samples[keep]

    def loud_seconds(self, since: float, until: float | None = None, threshold: float = QUIET_RMS) -> float:
        _, levels = self.blocks(since, until)
        return float(np.count_nonzero(levels > threshold)) * BLOCK / RATE

    def last_time(self) -> float:
        with self._lock:
            return self._chunks[-1][0] if self._chunks else 0.0

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self._thread.join(5)


def speech_onset(recorder: MonitorRecorder, since: float, threshold: float = 0.02) -> float | None:
    """Start time of the first block louder than ``threshold`` after ``since``."""
    ends, levels = recorder.blocks(since)
    loud = np.flatnonzero(levels > threshold)
    return None if not len(loud) else float(ends[loud[0]] - BLOCK / RATE)


def silent_from(recorder: MonitorRecorder, since: float, quiet_until: float, min_quiet: float = 0.1) -> float | None:
    """When the speaker went quiet after ``since`` and stayed quiet until ``quiet_until``: the end of
    the last loud block before that quiet stretch (``since`` if it was already quiet). None if it
    was still loud at ``quiet_until`` or the quiet stretch is shorter than ``min_quiet``."""
    ends, levels = recorder.blocks(since - 2.0, quiet_until)
    if not len(ends):
        return None
    loud = np.flatnonzero(levels > QUIET_RMS)
    last_loud = float(ends[loud[-1]]) if len(loud) else since
    silent_at = max(since, last_loud)
    if quiet_until - silent_at < min_quiet:
        return None
    return silent_at


# ----------------------------------------------------------------------------- speech


def speech_wav(path: Path, text: str, pad_s: float = 1.2) -> Path:
    """espeak-ng speech as a 16 kHz mono WAV, 0.2 s lead-in and ``pad_s`` of trailing silence."""
    raw = path.with_suffix(".22k.wav")
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", "-w", str(raw), text], check=True, timeout=30)
    subprocess.run(["sox", str(raw), "-r", "16000", "-c", "1", str(path), "pad", "0.2", str(pad_s)],
                   check=True, timeout=30)
    return path


def wav_onset_s(path: Path, threshold: float = 0.02) -> float:
    """Where speech starts in a WAV (first 20 ms block above ``threshold``), in seconds."""
    import wave

    with wave.open(str(path), "rb") as w:
        pcm = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16).astype(np.float64) / 32768.0
        rate = w.getframerate()
    block = rate // 50
    for i in range(0, len(pcm) - block, block):
        if np.sqrt(np.mean(pcm[i:i + block] ** 2)) > threshold:
            return i / rate
    return 0.0


def play_into_mic(audio: PrivateAudio, wav: Path) -> subprocess.Popen[bytes]:
    """Speak into the virtual microphone; returns the running paplay."""
    return subprocess.Popen(["paplay", "-d", audio.micfeed, str(wav)], stdin=subprocess.DEVNULL)


_transcriber: Any = None


def transcribe(pcm16k: np.ndarray) -> str:
    """The offline server's own recogniser (whisper tiny.en, int8, greedy), loaded once."""
    global _transcriber
    if _transcriber is None:
        from qwenvoice.localserver.speech import Transcriber

        _transcriber = Transcriber(cpu_threads=1)
    return str(_transcriber.transcribe(pcm16k))


def release_transcriber() -> None:
    """Free whisper's memory once the tests that compare speech are done."""
    global _transcriber
    _transcriber = None


_ONES = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
         "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen")
_TENS = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")


def _number_words(n: int) -> list[str]:
    if n < 20:
        return [_ONES[n]]
    if n < 100:
        return [_TENS[n // 10]] + ([_ONES[n % 10]] if n % 10 else [])
    if n < 10000 and n % 100 and n >= 1100:  # years are read in pairs: 2026 -> twenty twenty six
        return _number_words(n // 100) + _number_words(n % 100)
    if n < 1000:
        return [_ONES[n // 100], "hundred"] + (_number_words(n % 100) if n % 100 else [])
    return [str(n)]


def normalise(text: str) -> list[str]:
    """Words to compare: lower case, no punctuation, a.m./p.m. as one word, numbers as words
    (whisper writes "11.45 a.m." where the reply says "11:45 AM"; "05" and "5" both read "five")."""
    t = text.lower().replace("’", "'")
    t = re.sub(r"\b([ap])\.?\s?m\b\.?", r" \1m ", t)
    t = re.sub(r"(\d)[:.](\d)", r"\1 \2", t)
    t = t.replace("'", "")
    t = re.sub(r"[^a-z0-9]+", " ", t)
    words: list[str] = []
    for w in t.split():
        words.extend(_number_words(int(w)) if w.isdigit() else [w])
    return words


def match_score(shown: str, heard: str) -> float:
    """Similarity of the word sequences (difflib ratio: 2 × matched words / total words)."""
    a, b = normalise(shown), normalise(heard)
    if not a and not b:
        return 1.0
    return difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()


# ----------------------------------------------------------------------------- the app


@dataclass
class AppRun:
    """``python -m qwenvoice`` (through tests.e2e.app_probe) on the private display and devices."""

    display: PrivateDisplay
    audio: PrivateAudio
    workdir: Path
    mode: str
    listening_setup: str = "headphones"
    process: subprocess.Popen[bytes] | None = None
    server_outlived: bool = False
    state_path: Path = field(init=False)
    log_path: Path = field(init=False)

    def __post_init__(self) -> None:
        self.state_path = self.workdir / "state.json"
        self.log_path = self.workdir / "app.log"

    def configure(self) -> None:
        """Saved settings as a user would leave them: our speaker and microphone, the listening set-up."""
        from qwenvoice.settings.store import SettingsStore

        store = SettingsStore(self.workdir / "config")
        settings = store.load().settings
        settings.audio.input_device = self.audio.mic
        settings.audio.output_device = self.audio.speaker
        settings.audio.listening_setup = self.listening_setup
        settings.ui.turn_mode = self.mode
        store.save(settings)

    def start(self) -> AppRun:
        self.configure()
        env = {k: v for k, v in os.environ.items() if k != "DASHSCOPE_API_KEY"}
        env.update(
            DISPLAY=self.display.name, QT_QPA_PLATFORM="xcb", PYTHONUNBUFFERED="1", HF_HUB_OFFLINE="1",
            QWENVOICE_CONFIG_DIR=str(self.workdir / "config"), QWENVOICE_DATA_DIR=str(self.workdir / "data"),
            XDG_STATE_HOME=str(self.workdir / "state"), XDG_CACHE_HOME=str(self.workdir / "cache"),
            PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring",
        )  # fmt: skip
        log = open(self.log_path, "wb")  # noqa: SIM115 - closed with the process
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.e2e.app_probe", str(self.state_path), "--offline", "--mode", self.mode,
             "-v"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        log.close()
        return self

    def state(self) -> dict[str, Any]:
        try:
            return dict(json.loads(self.state_path.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            return {}

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")[-chars:]
        except OSError:
            return ""

    def wait(self, predicate: Callable[[dict[str, Any]], object], within: float, what: str) -> dict[str, Any]:
        deadline = time.monotonic() + within
        while True:
            s = self.state()
            if s and predicate(s):
                return s
            if self.process is not None and self.process.poll() is not None:
                raise AssertionError(f"the app exited ({self.process.returncode}) waiting for {what}\n"
                                     + self.log_tail())
            if time.monotonic() > deadline:
                raise AssertionError(f"not within {within} s: {what}\nwindow state: {_brief(s)}\n" + self.log_tail())
            time.sleep(0.05)

    def xdotool(self, *args: str) -> str:
        out = subprocess.run(["xdotool", *args], capture_output=True, text=True, timeout=10,
                             env=dict(os.environ, DISPLAY=self.display.name))
        if out.returncode != 0:
            raise AssertionError(f"xdotool {' '.join(args)} failed: {out.stderr.strip()}")
        return out.stdout.strip()

    def screenshot(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["import", "-display", self.display.name, "-window", "root", str(path)], check=True,
                       timeout=30)
        return path

    def close(self) -> int | None:
        """Close the window the way a window manager's close button does; the app must exit by
        itself and take its offline server with it. Returns the exit code (None if it had to be killed)."""
        if self.process is None:
            return None
        server_pid = self.state().get("server_pid")
        code: int | None = None
        if self.process.poll() is None:
            window = self.state().get("window_id")
            if window:
                subprocess.run([sys.executable, str(ROOT / "tests" / "packaging" / "x11_close.py"), str(window)],
                               env=dict(os.environ, DISPLAY=self.display.name), timeout=10, check=False)
            try:
                code = self.process.wait(45)
            except subprocess.TimeoutExpired:
                self.process.send_signal(signal.SIGUSR1)  # stacks of every thread into the app's log
                time.sleep(1.0)
                self.process.kill()
                # Keep the evidence: the next run of the same class starts from a fresh folder.
                with contextlib.suppress(OSError):
                    shutil.copy(self.log_path, ARTIFACTS / f"close-timeout-{self.workdir.name}-{int(time.time())}.log")
                self.process.wait(10)
        else:
            code = self.process.returncode
        if server_pid:
            # Only the server this app started, by its pid, if it outlived the app (it should not).
            time.sleep(0.2)
            try:
                os.kill(int(server_pid), 0)
                self.server_outlived = _is_our_server(int(server_pid))
                if self.server_outlived:
                    os.kill(int(server_pid), signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        return code


def _is_our_server(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return b"serve" in f.read()
    except OSError:
        return False


def _brief(state: dict[str, Any]) -> str:
    if not state:
        return "(no state yet)"
    keep = ("connection", "mode", "talking", "active", "playback", "response_active", "notices", "bubbles")
    return json.dumps({k: state.get(k) for k in keep}, ensure_ascii=False)[:2000]


def bubbles(state: dict[str, Any], role: str) -> list[dict[str, Any]]:
    return [b for b in state.get("bubbles", []) if b["role"] == role]


def events_after(state: dict[str, Any], since: float, kind: str) -> list[float]:
    return [t for t, _direction, typ in state.get("events", []) if typ == kind and t >= since]


@contextlib.contextmanager
def timed(label: str, into: dict[str, float]) -> Iterator[None]:
    started = time.monotonic()
    try:
        yield
    finally:
        into[label] = time.monotonic() - started
