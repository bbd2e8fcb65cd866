"""Peer benchmark (not a test): qwenvoice against the official DashScope SDK client, heard at the speaker.

One command (it starts its own PulseAudio with the devices of `.ci/devices.sh`):

    .venv/bin/python -m tests.benchmarks.bench_peer [--turns 20] [--quick]

About 10 minutes with 20 turns per configuration (`--quick`: 5 turns, about 3.5 minutes). Writes
tests/benchmarks/out/peer.json, rewrites tests/benchmarks/RESULTS.md and prints the table.

Also `--fix-paces cloud jitter` (the prototype of the proposed engine fix at both paces, ~1 min more),
`--from-json` (re-render RESULTS.md from the last JSON) and `--shared-pulse` (use the running daemon).

Everything runs on this machine: a benchmark server (`peer_server`) on 127.0.0.1 answers each turn with
the same 24 kHz recorded reply (espeak-ng speech with its pauses cut out, so any silence heard inside
it is the player's doing) at three paces: cloud (4x real time), real time, real time + 0-150 ms jitter
per delta (seeded; both clients get the same delays). Each client runs in its own process
(`peer_clients`) and plays to the PulseAudio `speaker` sink; `parec` records `speaker.monitor` with
arrival times (`peer_monitor`). All times are `time.monotonic()` (CLOCK_MONOTONIC, one clock for
every process).

Measured:
* first sound: server sent the first `response.audio.delta` -> first audible 5 ms frame on the monitor;
* gaps: silent runs >= 20 ms inside the heard reply, per turn, and their total length;
* CPU (% of one core, user+system, psutil) of each client process over its turns;
* barge-in to silence: the client flushes its player -> the monitor goes silent (both clients, cloud
  pace; the peer uses the samples' `cancel_playing()`);
* capture-to-wire: our capture callback posts a microphone block -> the server receives its append;
* end of user speech -> first reply sample: the benchmark speaks into `micfeed` (the `mic` source),
  the server's VAD waits `silence_ms` (500) and answers at cloud pace; measured from the last audible
  frame on `micfeed.monitor` to the first audible frame on `speaker.monitor`;
* the desktop app (`qwenvoice --url ... --mode vad`, offscreen Qt, waveform on screen) CPU and RSS
  while it holds spoken turns with this server;
* codec throughput: decoding 100 ms `response.audio.delta` frames, encoding 20 ms appends.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path
from typing import Any

import numpy as np

from tests.benchmarks.peer_monitor import (
    FRAME_MS,
    SILENT_RMS,
    MonitorRecorder,
    analyse,
    frame_rms,
    silence_from,
    speech_without_pauses,
)
from tests.benchmarks.peer_pulse import PrivatePulse
from tests.benchmarks.peer_server import BenchServer

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
OUT_DIR = HERE / "out"
RESULTS_MD = HERE / "RESULTS.md"
REPLY_TEXT = "It will be mild and sunny today, with a light breeze."
USER_TEXT = "What will the weather be like today?"
PACES = ("cloud", "realtime", "jitter")
SIDES = ("ours", "peer")
LABELS = {"ours": "qwenvoice", "peer": "DashScope SDK + sample player",
          "fix": "qwenvoice + proposed engine fix (prototype)"}
SHORT = {"ours": "qwenvoice", "peer": "SDK", "fix": "qwenvoice + fix"}


# ------------------------------------------------------------------------------------------ audio
def espeak(text: str, rate: int) -> np.ndarray:
    import soxr

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "s.wav"
        subprocess.run(["espeak-ng", "-w", str(path), text], check=True)
        with wave.open(str(path)) as w:
            src_rate = w.getframerate()
            pcm = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    out = soxr.resample(pcm.astype(np.float32) / 32768.0, src_rate, rate)
    speech: np.ndarray = (np.clip(out, -1, 1) * 32767).astype("<i2")
    return speech


def write_wav(path: Path, pcm: np.ndarray, rate: int) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.astype("<i2").tobytes())


# ------------------------------------------------------------------------------------------ stats
def pct(values: list[float], q: float) -> float | None:
    return float(np.percentile(values, q)) if values else None


def summary(values: list[float]) -> dict[str, Any]:
    return {"n": len(values), "p50": pct(values, 50), "p95": pct(values, 95),
            "mean": float(np.mean(values)) if values else None, "max": max(values) if values else None}


def fmt(v: Any, digits: int = 0) -> str:
    if v is None:
        return "-"
    text = f"{v:.{digits}f}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text  # no "-0"


# ------------------------------------------------------------------------------------------ clients
class ClientProcess:
    """One client in its own process; reads its JSON lines, measures its CPU."""

    def __init__(self, args: list[str]) -> None:
        self.args = args
        self.proc: asyncio.subprocess.Process | None = None
        self.records: list[dict[str, Any]] = []
        self.ready: dict[str, Any] = {}
        self.done: dict[str, Any] = {}
        self.cpu0 = self.wall0 = 0.0
        self.cpu_percent: float | None = None
        self.rss_mb: float | None = None

    async def start(self) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests.benchmarks.peer_clients", *self.args, cwd=ROOT,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, limit=2**24)
        self.ready = await self._line("ready", 30.0)
        self.cpu0, self.wall0 = self._cpu(), time.monotonic()

    def _cpu(self) -> float:
        import psutil

        assert self.proc is not None
        t = psutil.Process(self.proc.pid).cpu_times()
        return float(t.user + t.system)

    async def _line(self, key: str, limit: float) -> dict[str, Any]:
        assert self.proc is not None and self.proc.stdout is not None
        deadline = time.monotonic() + limit
        while True:
            raw = await asyncio.wait_for(self.proc.stdout.readline(), max(0.1, deadline - time.monotonic()))
            if not raw:
                raise RuntimeError(f"client {self.args[0]} ended early")
            record: dict[str, Any] = json.loads(raw)
            if "error" in record:
                raise RuntimeError(f"client {self.args[0]}: {record['error']}")
            if key in record:
                record["read_at"] = time.monotonic()
                return record
            record["read_at"] = time.monotonic()
            self.records.append(record)

    async def turns(self, count: int, limit: float) -> list[dict[str, Any]]:
        out = []
        for _ in range(count):
            out.append(await self._line("turn", limit))
        return out

    async def finish(self, limit: float = 60.0) -> None:
        """Tell a --vad client to stop (close stdin) or wait for `done`; then CPU, RSS, exit."""
        assert self.proc is not None and self.proc.stdin is not None
        if "--vad" in self.args:
            self.cpu_percent = (self._cpu() - self.cpu0) / (time.monotonic() - self.wall0) * 100
            self.rss_mb = self._rss()
            self.proc.stdin.close()
            self.done = await self._line("done", limit)
        else:
            self.done = await self._line("done", limit)
            self.cpu_percent = (self._cpu() - self.cpu0) / (self.done["read_at"] - self.wall0) * 100
            self.rss_mb = self._rss()
            self.proc.stdin.close()
        try:
            await asyncio.wait_for(self.proc.wait(), 10)
        except TimeoutError:
            self.proc.kill()
            await self.proc.wait()

    def _rss(self) -> float:
        import psutil

        assert self.proc is not None
        return float(psutil.Process(self.proc.pid).memory_info().rss) / 1e6


# ------------------------------------------------------------------------------------------ parts
async def compare(server: BenchServer, speaker: MonitorRecorder, side: str, pace: str, turns: int,
                  reply_s: float, extra: tuple[str, ...] = ()) -> dict[str, Any]:
    if side == "fix":
        extra = ("--prototype", *extra)
    client = ClientProcess(["peer" if side == "peer" else "ours", "--url", server.url, "--pace", pace,
                            "--turns", str(turns), *extra])
    await client.start()
    records = await client.turns(turns, 60.0)
    await client.finish()
    by_id = {r.response_id: r for r in server.responses}
    first, gaps, gap_ms, longest, stretch, per_turn = [], [], [], [], [], []
    wire, to_render, render_to_heard = [], [], []
    for rec in records:
        log = by_id.get(rec.get("response_id") or "")
        if log is None or log.first_delta_sent_at is None:
            continue
        x, t0 = speaker.segment(log.first_delta_sent_at - 0.05, rec["read_at"])
        p = analyse(x, t0, speaker.rate)
        if p.onset is None or p.end is None:
            continue
        first.append((p.onset - log.first_delta_sent_at) * 1000)
        gaps.append(p.gaps)
        gap_ms.append(p.gap_ms)
        longest.append(p.longest_gap_ms)
        stretch.append((p.end - p.onset - reply_s) * 1000)
        per_turn.append({"first_sound_ms": first[-1], "gaps": p.gaps, "gap_ms": p.gap_ms})
        if rec.get("first_received") and rec.get("first_rendered"):
            wire.append((rec["first_received"] - log.first_delta_sent_at) * 1000)
            to_render.append((rec["first_rendered"] - rec["first_received"]) * 1000)
            render_to_heard.append((p.onset - rec["first_rendered"]) * 1000)
    result = {
        "side": side, "pace": pace, "turns": len(first), "client_args": list(extra),
        "first_delta_to_sound_ms": summary(first),
        "gaps_per_turn": summary([float(g) for g in gaps]),
        "gap_ms_per_turn": summary(gap_ms),
        "longest_gap_ms": summary(longest),
        "turns_with_gaps": sum(1 for g in gaps if g),
        "stretch_ms": summary(stretch),
        "breakdown_ms": {"sent_to_received": summary(wire), "received_to_device": summary(to_render),
                         "device_to_heard": summary(render_to_heard)},
        "cpu_percent": client.cpu_percent,
        "rss_mb": client.rss_mb,
        "client_ready": {k: v for k, v in client.ready.items() if k != "read_at"},
        "client_done": {k: v for k, v in client.done.items() if k not in ("read_at",)},
        "per_turn": per_turn,
    }
    return result


async def barge_in(server: BenchServer, speaker: MonitorRecorder, side: str, turns: int) -> dict[str, Any]:
    client = ClientProcess([side, "--url", server.url, "--pace", "cloud", "--turns", str(turns), "--barge-in"])
    await client.start()
    records = await client.turns(turns, 60.0)
    await client.finish()
    cut = []
    for rec in records:
        if "flush_at" not in rec:
            continue
        x, t0 = speaker.segment(rec["flush_at"] - 0.2, rec["flush_at"] + 1.0)
        loud_before = frame_rms(x[: int(0.2 * speaker.rate)], speaker.rate)
        if not (loud_before >= SILENT_RMS).any():
            continue  # nothing was audible when the flush came: not a barge-in measurement
        skip = int(0.2 * speaker.rate)
        at = silence_from(x[skip:], t0 + skip / speaker.rate, speaker.rate)
        if at is not None:
            cut.append(max(0.0, (at - rec["flush_at"]) * 1000))
    return {"side": side, "barge_in_to_silence_ms": summary(cut), "cpu_percent": client.cpu_percent}


async def spoken_turns(server: BenchServer, speaker: MonitorRecorder, micfeed: MonitorRecorder, turns: int,
                       user_wav: Path, reply_s: float) -> dict[str, Any]:
    client = ClientProcess(["ours", "--url", server.url, "--pace", "cloud", "--vad"])
    await client.start()
    await asyncio.sleep(0.5)
    e2e, to_vad, vad_to_delta, delta_to_sound = [], [], [], []
    for _ in range(turns):
        before = len(server.responses)
        said_at = time.monotonic()
        await (await asyncio.create_subprocess_exec("paplay", "-d", "micfeed", str(user_wav))).wait()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not (  # noqa: ASYNC110 - polling the server's log is enough here
            len(server.responses) > before and server.responses[-1].last_delta_sent_at is not None):
            await asyncio.sleep(0.02)
        await asyncio.sleep(reply_s + 0.3)
        if len(server.responses) <= before:
            continue
        log = server.responses[-1]
        said, s0 = micfeed.segment(said_at, log.created_at)
        rms = frame_rms(said, micfeed.rate)
        loud = np.nonzero(rms >= SILENT_RMS)[0]
        if loud.size == 0 or log.first_delta_sent_at is None or log.vad_end_at is None:
            continue
        speech_end = s0 + (int(loud[-1]) + 1) * FRAME_MS / 1000
        heard, h0 = speaker.segment(speech_end, time.monotonic())
        onset = analyse(heard, h0, speaker.rate).onset
        if onset is None:
            continue
        e2e.append((onset - speech_end) * 1000)
        to_vad.append((log.vad_end_at - speech_end) * 1000)
        vad_to_delta.append((log.first_delta_sent_at - log.vad_end_at) * 1000)
        delta_to_sound.append((onset - log.first_delta_sent_at) * 1000)
    await client.finish()
    captured: dict[str, float] = client.done.get("captured", {})
    wire = [(server.appends[k] - v) * 1000 for k, v in captured.items() if k in server.appends and v > 0]
    return {
        "end_of_speech_to_first_sound_ms": summary(e2e),
        "end_of_speech_to_server_vad_ms": summary(to_vad),
        "server_vad_to_first_delta_ms": summary(vad_to_delta),
        "first_delta_to_sound_ms": summary(delta_to_sound),
        "capture_to_wire_ms": summary(wire),
        "server_silence_ms": server.silence_ms,
        "cpu_percent": client.cpu_percent,
        "rss_mb": client.rss_mb,
    }


async def desktop_app(server: BenchServer, user_wav: Path, seconds: float, reply_s: float) -> dict[str, Any]:
    """The GUI with its waveform on an offscreen display, holding spoken turns with the server."""
    import psutil

    exe = shutil.which("qwenvoice", path=str(Path(sys.executable).parent)) or ""
    if not exe:
        return {"skipped": "the qwenvoice entry point is not installed in this environment"}
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, QT_QPA_PLATFORM="offscreen", QWENVOICE_CONFIG_DIR=f"{tmp}/config",
                   QWENVOICE_DATA_DIR=f"{tmp}/data", XDG_STATE_HOME=f"{tmp}/state", DASHSCOPE_API_KEY="")
        proc = await asyncio.create_subprocess_exec(
            exe, "--url", server.url, "--model", "bench-cloud", "--mode", "vad", env=env,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
        try:
            before = len(server.responses)
            await asyncio.sleep(6.0)  # start-up: Qt, settings, devices, connect
            if proc.returncode is not None:
                return {"skipped": f"the app exited with {proc.returncode} during start-up"}
            ps = psutil.Process(proc.pid)
            ps.cpu_percent(None)
            cpu0, wall0 = sum(ps.cpu_times()[:2]), time.monotonic()
            rss = []
            while time.monotonic() - wall0 < seconds:
                await (await asyncio.create_subprocess_exec("paplay", "-d", "micfeed", str(user_wav))).wait()
                end = time.monotonic() + reply_s + 1.2
                while time.monotonic() < end:
                    rss.append(ps.memory_info().rss / 1e6)
                    await asyncio.sleep(0.25)
            wall = time.monotonic() - wall0
            cpu = (sum(ps.cpu_times()[:2]) - cpu0) / wall * 100
            return {"cpu_percent": cpu, "rss_mb_max": max(rss), "rss_mb_end": rss[-1], "seconds": wall,
                    "turns_answered": len(server.responses) - before, "threads": ps.num_threads()}
        finally:
            if proc.returncode is None:
                proc.terminate()
                try:
                    await asyncio.wait_for(proc.wait(), 10)
                except TimeoutError:
                    proc.kill()
                    await proc.wait()


async def device_start(speaker: MonitorRecorder, trials: int) -> dict[str, Any]:
    """Tone available -> heard, through a running 40 ms callback stream vs a stream started on demand."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.benchmarks.peer_device", "--trials", str(trials), cwd=ROOT,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
    assert proc.stdout is not None
    lines = [json.loads(line) for line in (await asyncio.wait_for(proc.stdout.read(), 120)).splitlines() if line]
    await proc.wait()
    out: dict[str, Any] = {"latency_ms": next((ln["latency_ms"] for ln in lines if "latency_ms" in ln), None)}
    for mode in ("running", "started"):
        onsets = []
        for ln in lines:
            if ln.get("mode") != mode:
                continue
            x, t0 = speaker.segment(ln["at"] - 0.05, ln["at"] + 0.6)
            onset = analyse(x, t0, speaker.rate).onset
            if onset is not None:
                onsets.append((onset - ln["at"]) * 1000)
        out[f"{mode}_to_heard_ms"] = summary(onsets)
    out["start_call_ms"] = summary([ln["start_ms"] for ln in lines if "start_ms" in ln])
    return out


def resampler_hold_back(delta_ms: int) -> dict[str, Any]:
    """What the Player's resampler gives back for the first few deltas (24 -> 48 kHz, as on PulseAudio)."""
    from qwenvoice.audio.pcm import StreamResampler

    resampler = StreamResampler(24000, 48000, quality="HQ")
    outs = [resampler.process(np.full(24 * delta_ms, 0.1, np.float32)).shape[0] / 48.0 for _ in range(4)]
    return {"first_delta_out_ms": outs[0], "first_four_out_ms": outs}


def codec_throughput() -> dict[str, Any]:
    from qwenvoice.protocol import events as ev
    from qwenvoice.protocol.codec import decode_server_event, encode_event

    rng = np.random.default_rng(1)
    delta = ev.ResponseAudioDelta(response_id="resp_1", item_id="item_1", output_index=0, content_index=0,
                                  audio=(rng.standard_normal(2400) * 3000).astype("<i2").tobytes(), event_id="e")
    wire = encode_event(delta)
    n = 5000
    t = time.perf_counter()
    for _ in range(n):
        decode_server_event(wire)
    down = time.perf_counter() - t
    append = ev.InputAudioBufferAppend(audio=(rng.standard_normal(320) * 3000).astype("<i2").tobytes())
    t = time.perf_counter()
    for _ in range(n):
        encode_event(append)
    up = time.perf_counter() - t
    return {"decode_100ms_delta_events_per_s": n / down, "decode_100ms_delta_us": down / n * 1e6,
            "decode_audio_x_realtime": n * 0.1 / down, "delta_frame_bytes": len(wire),
            "encode_20ms_append_events_per_s": n / up, "encode_20ms_append_us": up / n * 1e6}


def machine() -> dict[str, Any]:
    cpu = platform.processor() or ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    versions = {}
    for name in ("websockets", "numpy", "sounddevice", "dashscope", "PySide6"):
        with contextlib.suppress(Exception):
            from importlib.metadata import version

            versions[name] = version(name if name != "PySide6" else "PySide6-Essentials")
    pulse = ""
    with contextlib.suppress(Exception):
        pulse = subprocess.run(["pactl", "info"], capture_output=True, text=True, timeout=5).stdout
        pulse = next((ln.split(":", 1)[1].strip() for ln in pulse.splitlines() if ln.startswith("Server Version")), "")
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            "os": f"{platform.system()} {platform.release()} ({platform.machine()})",
            "libc": " ".join(platform.libc_ver()), "pulseaudio": pulse, "versions": versions,
            "load_average_at_start": load}


# ------------------------------------------------------------------------------------------ report
def ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None or b == 0 else a / b


def report(result: dict[str, Any]) -> str:
    m = result["machine"]
    cmp_rows = result["compare"]
    load = fmt(m["load_average_at_start"][0], 2) if m["load_average_at_start"] else "-"
    lines = [
        "# Benchmark results",
        "",
        f"Regenerated by `{result['command']}` on {result['when']} (took {result['wall_s'] / 60:.1f} min).",
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores, Python {m['python']}, {m['os']}, PulseAudio {m['pulseaudio']}"
        f" (null sinks); load average at start {load}"
        " (the machine is shared, so CPU figures carry noise).",
        "",
        f"Reply: {result['reply_s']:.2f} s of espeak-ng speech at 24 kHz with its pauses cut out, sent as"
        f" {result['delta_ms']} ms `response.audio.delta` events. Times are from the server's send of the first"
        " delta to the first audible 5 ms frame on `speaker.monitor`; a gap is a silent run of >= 20 ms inside"
        f" the heard reply. {result['turns']} turns per row.",
        "",
        "## qwenvoice vs the official SDK client (same server, audio and devices)",
        "",
        "| pace | client | first sound p50 / p95 (ms) | gaps per turn (mean) | turns with gaps"
        " | gap ms per turn p50 / p95 | longest gap p95 (ms) | device underflows | CPU % of one core |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in cmp_rows:
        lines.append(
            f"| {row['pace']} | {LABELS[row['side']]} | "
            f"{fmt(row['first_delta_to_sound_ms']['p50'])} / {fmt(row['first_delta_to_sound_ms']['p95'])} | "
            f"{fmt(row['gaps_per_turn']['mean'], 2)} | {row['turns_with_gaps']} / {row['turns']} | "
            f"{fmt(row['gap_ms_per_turn']['p50'])} / {fmt(row['gap_ms_per_turn']['p95'])} | "
            f"{fmt(row['longest_gap_ms']['p95'])} | {row['client_done'].get('device_underflows', '-')} | "
            f"{fmt(row['cpu_percent'], 1)} |")
    lines += ["", "A gap comes from the player running dry (its queue, or for qwenvoice the jitter buffer) or from"
              " the device running dry because the process was not scheduled in time (device underflows: the"
              " PortAudio callback status for qwenvoice, the blocking write's underflow flag inside a reply for"
              " the SDK player); on a busy shared machine the second kind shows up at any pace.",
              "", "Where the first-sound time goes (p50, ms): the server sends the first delta -> the client has"
              " it -> the client hands its first sample toward the device (ours: the output callback that"
              " copies it out of the jitter buffer; SDK: the play thread's first blocking write) -> heard on"
              " the monitor.", "",
              "| pace | client | sent -> received | received -> to device | to device -> heard | total |",
              "|---|---|---|---|---|---|"]
    for row in cmp_rows:
        bd = row.get("breakdown_ms", {})
        lines.append(
            f"| {row['pace']} | {SHORT[row['side']]} | "
            + " | ".join(fmt((bd.get(k) or {}).get("p50"), 1) for k in
                         ("sent_to_received", "received_to_device", "device_to_heard"))
            + f" | {fmt(row['first_delta_to_sound_ms']['p50'], 1)} |")
    lines += ["", "qwenvoice against the SDK (first sound as a difference: the SDK's is about 0, so a ratio says"
              " nothing; gaps and CPU as ratios, below 1 is better for qwenvoice):", ""]
    for text in result["ratios"].values():
        lines.append(f"- {text}")
    b = result.get("barge_in", {})
    s = result.get("spoken", {})
    g = result.get("desktop_app", {})
    c = result.get("codec", {})
    lines += ["", "## qwenvoice alone", "", "| measure | p50 | p95 | n |", "|---|---|---|---|"]

    def add_row(label: str, d: dict[str, Any] | None) -> None:
        if d:
            lines.append(f"| {label} | {fmt(d['p50'], 1)} | {fmt(d['p95'], 1)} | {d['n']} |")

    add_row("capture-to-wire: mic block posted by the callback -> append received by the server (ms)",
        s.get("capture_to_wire_ms"))
    add_row("first `response.audio.delta` sent -> first sample heard, cloud pace (ms)",
        next((r["first_delta_to_sound_ms"] for r in cmp_rows if r["side"] == "ours" and r["pace"] == "cloud"), None))
    add_row(f"end of user speech -> first reply sample heard, server VAD silence {s.get('server_silence_ms')} ms (ms)",
        s.get("end_of_speech_to_first_sound_ms"))
    add_row("  of which: end of speech -> server VAD decision (ms)", s.get("end_of_speech_to_server_vad_ms"))
    add_row("  of which: first delta sent -> first sample heard (ms)", s.get("first_delta_to_sound_ms"))
    for side in SIDES:
        d = b.get(side, {}).get("barge_in_to_silence_ms")
        who = "qwenvoice" if side == "ours" else "SDK sample player"
        add_row(f"barge-in: player flushed -> speaker silent, {who} (ms)", d)
    lines.append("")
    if "cpu_percent" in g:
        lines.append(f"Desktop app (`qwenvoice --url ... --mode vad`, offscreen Qt, waveform visible) over"
                     f" {g['seconds']:.0f} s of spoken turns ({g['turns_answered']} answered): CPU"
                     f" {g['cpu_percent']:.1f} % of one core, RSS {g['rss_mb_max']:.0f} MB at most.")
    else:
        lines.append(f"Desktop app: not measured ({g.get('skipped', 'not run')}).")
    lines.append("")
    if c:
        lines.append(f"Codec: decoding a 100 ms `response.audio.delta` ({c['delta_frame_bytes']} bytes of JSON) takes"
                     f" {c['decode_100ms_delta_us']:.1f} us ({c['decode_100ms_delta_events_per_s']:.0f} events/s,"
                     f" {c['decode_audio_x_realtime']:.0f}x real time on one core); encoding a 20 ms append takes"
                     f" {c['encode_20ms_append_us']:.1f} us ({c['encode_20ms_append_events_per_s']:.0f} events/s).")
    dv = result.get("device_start")
    if dv:
        lines += ["", f"Output stream experiment (a 48 kHz callback stream like the Player's, 10 ms blocks,"
                  f" {fmt(dv['latency_ms'])} ms latency): audio made available to a stream that is already running"
                  f" is heard after {fmt(dv['running_to_heard_ms']['p50'])} ms (p50; it queues behind the silence"
                  f" already in the device buffer); made available to a stopped stream that is then started, after"
                  f" {fmt(dv['started_to_heard_ms']['p50'])} ms (`start()` itself took"
                  f" {fmt(dv['start_call_ms']['p50'], 1)} ms)."]
    lines += ["", "## Where the time goes", ""] + [f"- {t}" for t in result.get("notes", [])]
    lines.append("")
    return "\n".join(lines)


def derive(result: dict[str, Any]) -> None:
    rows = {(r["side"], r["pace"]): r for r in result["compare"]}
    ratios: dict[str, str] = {}
    for pace in PACES:
        peer = rows.get(("peer", pace))
        for side in ("ours", "fix"):
            ours = rows.get((side, pace))
            if not ours or not peer:
                continue
            who = SHORT[side]
            fo, fp = ours["first_delta_to_sound_ms"]["p50"], peer["first_delta_to_sound_ms"]["p50"]
            diff = None if fo is None or fp is None else fo - fp
            ratios[f"first_sound_{side}_{pace}"] = (
                f"{pace}, {who}: first sound p50 {fmt(fo)} ms vs {fmt(fp)} ms ({'+' if (diff or 0) >= 0 else ''}"
                f"{fmt(diff)} ms)")
            go, gp = ours["gaps_per_turn"]["mean"], peer["gaps_per_turn"]["mean"]
            gr = ratio(go, gp)
            ratios[f"gaps_{side}_{pace}"] = (
                f"{pace}, {who}: gaps per turn {fmt(go, 2)} vs {fmt(gp, 2)}"
                + (f" = {gr:.2f}x" if gr is not None else "")
                + f"; silence inside the reply per turn (mean) {fmt(ours['gap_ms_per_turn']['mean'])} ms vs"
                f" {fmt(peer['gap_ms_per_turn']['mean'])} ms")
            ratios[f"cpu_{side}_{pace}"] = (
                f"{pace}, {who}: CPU {fmt(ours['cpu_percent'], 1)} % vs {fmt(peer['cpu_percent'], 1)} %"
                f" = {fmt(ratio(ours['cpu_percent'], peer['cpu_percent']), 2)}x")
    result["ratios"] = ratios
    notes = []
    jit_p_row = rows.get(("peer", "jitter"))
    cloud_o, cloud_p = rows.get(("ours", "cloud")), rows.get(("peer", "cloud"))
    if cloud_o and cloud_p:
        o, p = cloud_o["first_delta_to_sound_ms"]["p50"], cloud_p["first_delta_to_sound_ms"]["p50"]
        bo, bp = cloud_o["breakdown_ms"], cloud_p["breakdown_ms"]
        ready_o, ready_p = cloud_o["client_ready"], cloud_p["client_ready"]
        rs = result.get("resampler", {})
        dv = result.get("device_start", {})
        notes.append(
            f"Cloud pace, first sound: qwenvoice {fmt(o)} ms, SDK player {fmt(p)} ms (p50). The network and the"
            f" codec cost nothing here (first delta received {fmt(bo['sent_to_received']['p50'], 1)} ms after it was"
            f" sent). qwenvoice then spends {fmt(bo['received_to_device']['p50'])} ms before its output callback"
            f" takes the first sample, and {fmt(bo['device_to_heard']['p50'])} ms in the device buffer; the SDK"
            f" player writes at once ({fmt(bp['received_to_device']['p50'], 1)} ms) and is heard at once.")
        notes.append(
            f"Jitter buffer: the start depth is {fmt(ready_o.get('target_ms'))} ms of device-rate audio, but the"
            f" Player's streaming resampler (24 -> 48 kHz, soxr HQ) turns the first {result['delta_ms']} ms delta"
            f" into only {fmt(rs.get('first_delta_out_ms'), 1)} ms (it holds the rest back), so playback waits for"
            f" the second delta ({result['delta_ms'] / result['speed_cloud']:.0f} ms later at cloud pace, a whole"
            f" {result['delta_ms']} ms later at real time) plus up to one 10 ms callback block.")
        if dv:
            notes.append(
                f"Device buffer: the Player's stream runs all the time, so between replies its"
                f" {fmt(ready_o.get('output_latency_ms'))} ms buffer is full of silence and the first reply sample"
                f" queues behind it (the stream experiment: {fmt(dv['running_to_heard_ms']['p50'])} ms). The SDK"
                f" player's blocking stream ({fmt(ready_p.get('output_latency_ms'))} ms, PortAudio 'low') runs dry"
                f" between replies (ALSA reports an underrun), so it starts empty; a stopped stream started on"
                f" demand is heard after {fmt(dv['started_to_heard_ms']['p50'])} ms, its `start()` took"
                f" {fmt(dv['start_call_ms']['p50'], 1)} ms.")
        fix_c, fix_j = rows.get(("fix", "cloud")), rows.get(("fix", "jitter"))
        measured = ""
        if fix_c:
            bf = fix_c["breakdown_ms"]
            measured = (
                f" A prototype of this (`peer_clients.py --prototype`, built on the Player inside the benchmark"
                f" only, start depth {fmt(fix_c['client_ready'].get('target_ms'))} ms, pause after 150 ms idle)"
                f" measures {fmt(fix_c['first_delta_to_sound_ms']['p50'])} ms p50 /"
                f" {fmt(fix_c['first_delta_to_sound_ms']['p95'])} ms p95 at cloud pace (received -> to device"
                f" {fmt(bf['received_to_device']['p50'])} ms: waiting for the second delta; to device -> heard"
                f" {fmt(bf['device_to_heard']['p50'])} ms), {fmt(fix_c['gaps_per_turn']['mean'], 2)} gaps per"
                f" turn, against the SDK player's {fmt(p)} ms and {fmt(cloud_p['gaps_per_turn']['mean'], 2)}.")
        if fix_j:
            jo = rows.get(("ours", "jitter"))
            measured += (
                f" Under jitter it has {fmt(fix_j['gaps_per_turn']['mean'], 2)} gaps per turn"
                f" ({fmt(fix_j['gap_ms_per_turn']['mean'])} ms of silence) against today's"
                f" {fmt(jo['gaps_per_turn']['mean'] if jo else None, 2)} and the SDK's"
                f" {fmt(jit_p_row['gaps_per_turn']['mean'] if jit_p_row else None, 2)}.")
        notes.append(
            "What would close it (audio engine, `qwenvoice/audio/playback.py`, with the start rule in `jitter.py`):"
            " stop the output stream once the player has been idle for a moment (everything played, the device"
            " buffer holds only silence) and start it again when the next reply has reached its start depth, so"
            " the first sample goes into an empty device buffer instead of queueing behind"
            f" {fmt(dv.get('running_to_heard_ms', {}).get('p50'))} ms of silence. A stream started that way takes"
            " a device buffer of audio at once, so for a stopped stream the start depth must cover the device"
            " buffer as well as the cushion (80 + 40 ms, counted as pushed audio, since the resampler holds back"
            " about 12 ms); the cushion against late deltas is then the same as today's. The stream supervisor"
            " must treat the stop as intended (`SupervisedStream._watch` recovers on a finished callback or on"
            " 2.5 s without callbacks) and the echo canceller's playback reference must accept the pause."
            + measured +
            " The rest (waiting for the second delta, 20 ms at 4x) could go too if the start depth learned the"
            " delivery rate: after a reply that arrived faster than real time without an underrun, start the"
            " next one on its first delta.")
    jit_o, jit_p = rows.get(("ours", "jitter")), rows.get(("peer", "jitter"))
    if jit_o and jit_p:
        notes.append(
            f"Real time + 0-150 ms jitter: the SDK player has nothing queued when a delta is late, so a late delta"
            f" is a gap ({fmt(jit_p['gaps_per_turn']['mean'], 2)} per turn, {fmt(jit_p['gap_ms_per_turn']['mean'])} ms"
            f" of silence per turn); qwenvoice starts {fmt(jit_o['first_delta_to_sound_ms']['p50'])} ms after the"
            f" first delta and grows its start depth after each underrun ({fmt(jit_o['gaps_per_turn']['mean'], 2)}"
            f" gaps and {fmt(jit_o['gap_ms_per_turn']['mean'])} ms per turn; depth at the end"
            f" {fmt(jit_o['client_done'].get('target_ms_end'))} ms, {jit_o['client_done'].get('underruns')}"
            " underruns in all).")
    sp, bi = result.get("spoken", {}), result.get("barge_in", {})
    if sp.get("end_of_speech_to_first_sound_ms", {}).get("p50") is not None:
        e2e = sp["end_of_speech_to_first_sound_ms"]["p50"]
        vad = sp["end_of_speech_to_server_vad_ms"]["p50"]
        notes.append(
            f"End of speech -> first reply sample: {fmt(e2e)} ms p50, of which the server's VAD silence window is"
            f" {sp['server_silence_ms']} ms (the server answers at once, cloud pace). The client's share is about"
            f" {fmt(e2e - sp['server_silence_ms'])} ms: {fmt(vad - sp['server_silence_ms'])} ms for the capture path"
            f" (20 ms blocks, 20 ms input latency, the mic source) until the server has the last silent block, and"
            f" {fmt(sp['first_delta_to_sound_ms']['p50'])} ms of playout as above. Capture-to-wire itself is"
            f" {fmt(sp['capture_to_wire_ms']['p50'], 1)} ms p50.")
    if bi.get("ours") and bi.get("peer"):
        notes.append(
            f"Barge-in: qwenvoice goes silent {fmt(bi['ours']['barge_in_to_silence_ms']['p50'])} ms after the flush"
            " (the next 10 ms callback block plays the 4 ms fade, then the device buffer of 40 ms and PulseAudio's"
            f" share drain); the SDK player {fmt(bi['peer']['barge_in_to_silence_ms']['p50'])} ms p50 /"
            f" {fmt(bi['peer']['barge_in_to_silence_ms']['p95'])} ms p95 (its cancel empties the queues, but the"
            " blocking write of the current 100 ms piece runs to its end). A smaller output latency is what"
            " would cut ours further (20-25 ms would save 15-20 ms, at a higher risk of device underflows when"
            " the process is starved on a busy 2-core machine).")
    notes.append(
        "Measurement: the monitor's timestamps come from the arrival times of `parec` reads (5 ms latency) fitted"
        " to the sample count; a null sink renders a few ms ahead, so the SDK player's 'to device -> heard' shows"
        " as about -3 ms: read every time here as +-5 ms. Both clients are measured the same way, so the comparison"
        " holds. The benchmark runs its own PulseAudio (same virtual devices as `.ci/devices.sh`) so that nothing"
        " else plays into the monitor.")
    result["notes"] = notes + result.get("extra_notes", [])


def print_table(result: dict[str, Any]) -> None:
    print()
    print(report(result))


# ------------------------------------------------------------------------------------------ main
async def run(args: argparse.Namespace) -> dict[str, Any]:
    started = time.monotonic()
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    reply = speech_without_pauses(espeak(REPLY_TEXT, 24000), 24000)
    reply_s = reply.shape[0] / 24000
    user_wav = OUT_DIR / "peer_user.wav"
    write_wav(user_wav, espeak(USER_TEXT, 16000), 16000)
    server = BenchServer(reply.tobytes(), delta_ms=args.delta_ms)
    await server.start()
    speaker, micfeed = MonitorRecorder("speaker.monitor", 24000), MonitorRecorder("micfeed.monitor", 16000)
    speaker.start()
    micfeed.start()
    await asyncio.sleep(2.2)  # a null sink renders in 2 s blocks until a low-latency reader has held it a while
    result: dict[str, Any] = {
        "benchmark": "peer", "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "command": " ".join(["python -m tests.benchmarks.bench_peer", *sys.argv[1:]]),
        "machine": machine(), "turns": args.turns, "reply_s": reply_s, "delta_ms": args.delta_ms,
        "speed_cloud": server.speed, "jitter_ms": server.jitter_ms, "compare": [],
    }
    try:
        for pace in args.paces:
            for side in SIDES:
                print(f"  {side} at {pace} pace ...", flush=True)
                extra = tuple(args.peer_args.split()) if side == "peer" else tuple(args.ours_args.split())
                result["compare"].append(await compare(server, speaker, side, pace, args.turns, reply_s, extra))
            if pace in args.fix_paces:
                print(f"  ours with the proposed engine fix at {pace} pace ...", flush=True)
                result["compare"].append(await compare(server, speaker, "fix", pace, args.turns, reply_s,
                                                       tuple(args.ours_args.split())))
        result["barge_in"] = {}
        for side in SIDES if "barge" not in args.skip else ():
            print(f"  barge-in, {side} ...", flush=True)
            result["barge_in"][side] = await barge_in(server, speaker, side, args.turns)
        if "spoken" not in args.skip:
            print("  spoken turns (capture, server VAD, playback) ...", flush=True)
            result["spoken"] = await spoken_turns(server, speaker, micfeed, args.turns, user_wav, reply_s)
        if "device" not in args.skip:
            print("  output stream: running vs started on demand ...", flush=True)
            result["device_start"] = await device_start(speaker, 4)
        if not args.no_gui:
            print("  desktop app ...", flush=True)
            result["desktop_app"] = await desktop_app(server, user_wav, args.gui_seconds, reply_s)
        else:
            result["desktop_app"] = {"skipped": "--no-gui"}
        result["codec"] = codec_throughput()
        result["resampler"] = resampler_hold_back(args.delta_ms)
    finally:
        if args.save_audio:
            result["recordings"] = {"speaker": speaker.dump(str(OUT_DIR / "peer_speaker.raw")),
                                    "micfeed": micfeed.dump(str(OUT_DIR / "peer_micfeed.raw"))}
        speaker.stop()
        micfeed.stop()
        await server.stop()
    result["wall_s"] = time.monotonic() - started
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--turns", type=int, default=20, help="turns per configuration (default 20)")
    parser.add_argument("--quick", action="store_true", help="5 turns per configuration, shorter app run")
    parser.add_argument("--delta-ms", type=int, default=80, help="audio per response.audio.delta (default 80)")
    parser.add_argument("--gui-seconds", type=float, default=20.0, help="seconds of the desktop app run")
    parser.add_argument("--paces", nargs="*", default=list(PACES), help="paces to compare (default: all)")
    parser.add_argument("--skip", nargs="*", default=[], help="parts to leave out: barge spoken device")
    parser.add_argument("--fix-paces", nargs="*", default=["cloud"],
                        help="paces at which to also run our client with the proposed engine fix (prototype)")
    parser.add_argument("--ours-args", default="", help="extra peer_clients options for our side (tuning runs)")
    parser.add_argument("--peer-args", default="", help="extra peer_clients options for the SDK side")
    parser.add_argument("--no-gui", action="store_true", help="leave out the desktop app")
    parser.add_argument("--shared-pulse", action="store_true",
                        help="use the running PulseAudio instead of a private one (only when nothing else plays)")
    parser.add_argument("--save-audio", action="store_true", help="keep the monitor recordings in out/")
    parser.add_argument("--from-json", action="store_true", help="only rewrite RESULTS.md from out/peer.json")
    parser.add_argument("--no-results", action="store_true", help="do not rewrite RESULTS.md")
    args = parser.parse_args(argv)
    if args.from_json:  # re-render the report of the last run
        result = json.loads((OUT_DIR / "peer.json").read_text())
        derive(result)
        RESULTS_MD.write_text(report(result))
        print(report(result))
        return 0
    if args.quick:
        args.turns = min(args.turns, 5)
        args.gui_seconds = min(args.gui_seconds, 12.0)
    if args.shared_pulse:
        if subprocess.run(["pactl", "info"], capture_output=True).returncode != 0:
            raise SystemExit("PulseAudio is not running: `source .ci/devices.sh` first")
        result = asyncio.run(run(args))
    else:
        with PrivatePulse():
            result = asyncio.run(run(args))
    derive(result)
    (OUT_DIR / "peer.json").write_text(json.dumps(result, indent=2))
    text = report(result)
    if not args.no_results:
        RESULTS_MD.write_text(text)
    print()
    print(text)
    print(f"written: {os.path.relpath(OUT_DIR / 'peer.json')}" + ("" if args.no_results else
                                                                   f", {os.path.relpath(RESULTS_MD)}"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
