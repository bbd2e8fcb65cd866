"""Audio engine benchmark (not a test): callback cost, capture-to-loop latency, first chunk to first
sample, underruns per minute under simulated network jitter, CPU and memory.

Two parts:
* `device`: the real engine on the real (virtual PulseAudio) devices: capture running, replies
  delivered like a server does (80 ms chunks, 0.9x real time, i.e. a slow server) with arrival
  jitter of 0 / 50 / 150 ms per chunk (TCP: delayed, never reordered).
* `simulated`: the jitter buffer alone on a simulated clock, 10 minutes of reply audio per jitter
  level, to get stable underrun rates quickly.

Run: `.venv/bin/python -m tests.benchmarks.bench_audio [--seconds N]` (after `source .ci/devices.sh`).
Writes tests/benchmarks/out/bench_audio.json and prints a table.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import time
from pathlib import Path
from typing import Any

import numpy as np

from qwenvoice.audio.engine import AudioEngine
from qwenvoice.audio.jitter import JitterBuffer

OUT_DIR = Path(__file__).resolve().parent / "out"
REPLY_RATE = 24000
CHUNK_MS = 80
JITTERS_MS = (0, 50, 150)


def pct(values: list[float], q: float) -> float | None:
    return float(np.percentile(values, q)) if values else None


def summary(values: list[float]) -> dict[str, float | None]:
    return {"n": len(values), "p50": pct(values, 50), "p95": pct(values, 95), "p99": pct(values, 99),
            "max": max(values) if values else None}


def rss_mb() -> float:
    try:
        import psutil

        return float(psutil.Process().memory_info().rss) / 1e6
    except ImportError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def speechlike(seconds: float, rng: np.random.Generator) -> bytes:
    t = np.arange(int(REPLY_RATE * seconds)) / REPLY_RATE
    envelope = 0.5 + 0.5 * np.sin(2 * np.pi * 3 * t)
    signal = envelope * (0.3 * np.sin(2 * np.pi * 220 * t) + 0.05 * rng.standard_normal(t.size))
    return (np.clip(signal, -1, 1) * 32767).astype("<i2").tobytes()


async def deliver(engine: AudioEngine, pcm: bytes, response_id: str, jitter_ms: float, rtf: float,
                  rng: np.random.Generator) -> None:
    """Send 80 ms chunks generated at `rtf` x real time, each arriving up to `jitter_ms` late."""
    step = REPLY_RATE * 2 * CHUNK_MS // 1000
    start = time.monotonic()
    last_arrival = 0.0
    for k, offset in enumerate(range(0, len(pcm), step)):
        arrival = max(last_arrival, k * CHUNK_MS / 1000 * rtf + rng.uniform(0, jitter_ms / 1000))
        last_arrival = arrival
        delay = start + arrival - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        engine.player.push(pcm[offset : offset + step], response_id, f"item_{response_id}")
    engine.player.end_of_response(response_id)


async def device_part(seconds_per_level: float) -> dict[str, Any]:
    engine = AudioEngine(monitor_interval=2.0)
    if not await engine.start_playback():
        return {"skipped": [n.message for n in engine.notices]}
    capture_ok = await engine.start_capture()
    engine.player.measure_callback_cost = True
    engine.capture.measure_callback_cost = True
    first_sample: list[float] = []
    engine.player.on_item_started.append(
        lambda e: first_sample.append(e.first_chunk_to_first_sample_ms)
        if e.first_chunk_to_first_sample_ms is not None and e.response_id.startswith("resp_") else None
    )
    rng = np.random.default_rng(7)
    levels: dict[str, Any] = {}
    cpu0, wall0 = cpu_seconds(), time.monotonic()
    n = 0
    for jitter in JITTERS_MS:
        engine.player.buffer.reset_target(80.0) if engine.player.buffer else None
        before = engine.player.metrics()
        t0 = time.monotonic()
        while time.monotonic() - t0 < seconds_per_level:
            n += 1
            await deliver(engine, speechlike(4.0, rng), f"resp_{n}", jitter, 0.9, rng)
            await engine.player.wait_idle(10)
            await asyncio.sleep(0.2)  # a pause between turns
        after = engine.player.metrics()
        minutes = (time.monotonic() - t0) / 60
        levels[f"{jitter}ms"] = {
            "underruns_per_min": (after.underruns - before.underruns) / minutes,
            "underrun_ms_per_min": (after.underrun_ms - before.underrun_ms) / minutes,
            "device_underflows": after.device_underflows - before.device_underflows,
            "target_ms_end": after.target_ms,
        }
    wall = time.monotonic() - wall0
    cpu = (cpu_seconds() - cpu0) / wall * 100
    flush_cut: list[float] = []
    for k in range(20):  # barge-in: flush() -> the next block handed to the device is silent
        engine.player.push(speechlike(2.0, rng), f"cut_{k}", f"cut_{k}")
        await asyncio.sleep(0.3 + 0.3 * rng.random())
        flushed_at = time.monotonic()
        engine.player.flush()
        await asyncio.sleep(0.1)
        buffer = engine.player.buffer
        heard = buffer.first_render_after(flushed_at) if buffer is not None else None
        if heard is not None:
            flush_cut.append((heard - flushed_at) * 1000)
    capture = engine.capture.metrics()
    result = {
        "output_device": engine.player.device.identity if engine.player.device else None,
        "input_device": engine.capture.device.identity if capture_ok and engine.capture.device else None,
        "output_callback_ms": summary(engine.player.callback_costs_ms()),
        "input_callback_ms": summary(engine.capture.callback_costs_ms()),
        "capture_to_loop_ms": summary(engine.capture.latency_samples_ms()),
        "first_chunk_to_first_sample_ms": summary(first_sample),
        "flush_to_silent_block_ms": summary(flush_cut),
        "jitter": levels,
        "capture_overflows": capture.overflows,
        "capture_dropped_blocks": capture.dropped_blocks,
        "output_stream_latency_ms": engine.player.stream_latency_s * 1000,
        "device_buffer_delay_ms": engine.player.metrics().device_delay_ms,
        "cpu_percent_of_one_core": cpu,
        "rss_mb": rss_mb(),
        "wall_s": wall,
    }
    await engine.aclose()
    return result


def simulated_part(minutes: float = 10.0, rtf: float = 0.9) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for jitter in JITTERS_MS:
        rng = np.random.default_rng(jitter + 1)
        jb = JitterBuffer(48000)
        block = np.zeros(480, np.float32)
        chunk = np.full(48000 * CHUNK_MS // 1000, 0.1, np.float32)
        ticks, now, played_s, n = 0, 0.0, 0.0, 0
        while played_s < minutes * 60:
            n += 1  # one 4 s response, then a 200 ms pause
            arrivals, last = [], now
            for k in range(4000 // CHUNK_MS):
                last = max(last, now + k * CHUNK_MS / 1000 * rtf + rng.uniform(0, jitter / 1000))
                arrivals.append(last)
            k = 0
            while k < len(arrivals) or not jb.is_idle() or jb.buffered_frames:
                while k < len(arrivals) and arrivals[k] <= now:
                    jb.push(chunk, f"r{n}", "i", now)
                    k += 1
                    if k == len(arrivals):
                        jb.end_of_response(f"r{n}")
                jb.render(block, now)
                ticks += 1
                now = ticks * 0.01
                jb.poll()
            now += 0.2
            ticks = int(round(now / 0.01))
            played_s += 4.0
        m = jb.metrics()
        firsts = jb.first_chunk_to_first_sample_history
        results[f"{jitter}ms"] = {
            "underruns_per_min": m.underruns / minutes,
            "underrun_ms_per_min": m.underrun_ms / minutes,
            "first_chunk_to_first_sample_ms": summary(firsts),
            "target_ms_end": m.target_ms,
        }
    return results


def fmt(v: float | None, digits: int = 2) -> str:
    return "-" if v is None else f"{v:.{digits}f}"


def print_table(result: dict[str, Any]) -> None:
    dev = result.get("device", {})
    rows: list[tuple[str, str, str, str, str]] = [("metric", "p50", "p95", "p99", "max")]
    for key, label in (("output_callback_ms", "output callback cost (ms)"),
                       ("input_callback_ms", "input callback cost (ms)"),
                       ("capture_to_loop_ms", "capture -> loop latency (ms)"),
                       ("first_chunk_to_first_sample_ms", "first chunk -> first sample (ms)"),
                       ("flush_to_silent_block_ms", "flush -> silent block to device (ms)")):
        s = dev.get(key)
        if s:
            rows.append((label, fmt(s["p50"]), fmt(s["p95"]), fmt(s["p99"]), fmt(s["max"])))
    width = max(len(r[0]) for r in rows)
    print(f"\nqwenvoice audio benchmark  ({dev.get('output_device')}, {dev.get('input_device')})")
    for r in rows:
        print(f"  {r[0]:<{width}}  {r[1]:>8} {r[2]:>8} {r[3]:>8} {r[4]:>8}")
    print(f"\n  {'jitter':<8} {'underruns/min (device)':>24} {'underruns/min (simulated, 10 min)':>36}"
          f" {'target ms (sim)':>16}")
    for level in (f"{j}ms" for j in JITTERS_MS):
        d = dev.get("jitter", {}).get(level, {})
        s = result["simulated"][level]
        print(f"  {level:<8} {fmt(d.get('underruns_per_min'), 1):>24} {fmt(s['underruns_per_min'], 2):>36}"
              f" {fmt(s['target_ms_end'], 0):>16}")
    if "cpu_percent_of_one_core" in dev:
        print(f"\n  CPU {dev['cpu_percent_of_one_core']:.1f} % of one core (capture + playback + delivery), "
              f"RSS {dev['rss_mb']:.0f} MB, output stream latency {dev['output_stream_latency_ms']:.0f} ms "
              f"(callback to DAC {dev['device_buffer_delay_ms']:.0f} ms), "
              f"capture overflows {dev['capture_overflows']}, dropped blocks {dev['capture_dropped_blocks']}")
    elif "skipped" in dev:
        print(f"  device part skipped: {dev['skipped']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=20.0, help="seconds of real playback per jitter level")
    args = parser.parse_args(argv)
    result: dict[str, Any] = {"benchmark": "audio", "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    result["device"] = asyncio.run(device_part(args.seconds))
    result["simulated"] = simulated_part()
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    (OUT_DIR / "bench_audio.json").write_text(json.dumps(result, indent=2))
    print_table(result)
    print(f"\n  written: {os.path.relpath(OUT_DIR / 'bench_audio.json')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
