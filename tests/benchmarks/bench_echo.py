"""Echo cancellation benchmark (not a test): every backend on the simulated room.

The assistant's reply (piper, 12 s) plays through a room (40 ms delay, 150 ms decay, -6 dB, noise at
-65 dBFS) with 60 ms of device latency; from 8 s the user (espeak-ng) says "Stop. What time is it now?"
over it, at the echo's level and 6 dB quieter. Per backend:

* ERLE in 0.3-2 s (converging) and 2-8 s (converged), echo only;
* VAD-FP: share of 32 ms windows of the reply (0-8 s) where silero (0.5) fires on the residual;
* the double-talk transcript (whisper tiny.en), how many dB of the user's voice were lost, and how
  long the start of it was held down (onset lost: until the output stays within 6 dB of the user);
* canceller CPU per 10 ms frame, p50 / p95 (one shared core);
* the GCC-PHAT delay estimate vs the true 120 ms (40 room + 60 devices + 20 replay block).
Each backend runs on a steady clock and with the capture clock drifting 70 ppm (separate devices).

Run: `.venv/bin/python -m tests.benchmarks.bench_echo`. Writes tests/benchmarks/out/echo.json.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from qwenvoice.audio.echo.capture_path import BACKENDS, SAMPLE_RATE, CapturePathProcessor
from tests.support import echo_sim

os.environ.setdefault("HF_HUB_OFFLINE", "1")
OUT = Path(__file__).parent / "out" / "echo.json"
DEVICE_LATENCY_MS = 60.0
TRUE_DELAY_MS = 40.0 + DEVICE_LATENCY_MS + 20.0


def _seconds(audio: np.ndarray, start: float, stop: float) -> np.ndarray:
    return audio[int(start * SAMPLE_RATE) : int(stop * SAMPLE_RATE)]


def measure(backend: str, reply: np.ndarray, user: np.ndarray, drift_ppm: float) -> dict[str, Any]:
    row: dict[str, Any] = {"backend": backend, "drift_ppm": drift_ppm}
    for label, gain in (("", 0.0), ("_quiet_user", -6.0)):
        scene = echo_sim.build_scene(reply, user, user_gain_db=gain, drift_ppm=drift_ppm)
        processor = CapturePathProcessor(backend)
        started = time.perf_counter()
        cleaned = echo_sim.run_capture_path(processor, scene, device_latency_ms=DEVICE_LATENCY_MS)
        wall = time.perf_counter() - started
        transcript = echo_sim.transcribe(_seconds(cleaned, 7.9, 12.0))
        start, end = scene.double_talk_start, scene.user_end
        row[f"transcript{label}"] = transcript
        row[f"user_lost_db{label}"] = round(echo_sim.erle_db(scene.user[start:end], cleaned[start:end]), 1)
        row[f"keywords_ok{label}"] = all(w in transcript.lower() for w in echo_sim.USER_KEYWORDS)
        row[f"onset_lost_ms{label}"] = round(echo_sim.onset_lost_ms(scene, cleaned), 1)
        if label:
            continue
        row["name"] = processor.backend_name
        row["ended_on"] = getattr(processor.canceller, "active_name", processor.backend_name)
        row["notice"] = processor.notice
        row["erle_db_0.3_2s"] = round(echo_sim.erle_db(_seconds(scene.mic, 0.3, 2), _seconds(cleaned, 0.3, 2)), 1)
        row["erle_db_2_8s"] = round(echo_sim.erle_db(_seconds(scene.mic, 2, 8), _seconds(cleaned, 2, 8)), 1)
        row["vad_fp_reply_pct"] = round(100 * echo_sim.vad_trigger_rate(_seconds(cleaned, 0, 8)), 2)
        row["vad_fp_converged_pct"] = round(100 * echo_sim.vad_trigger_rate(_seconds(cleaned, 2, 8)), 2)
        p50, p95 = processor.stats.cpu_percentiles()
        row["cpu_us_p50"] = round(p50, 1)
        row["cpu_us_p95"] = round(p95, 1)
        row["replay_seconds"] = round(wall, 2)
        estimate = processor.aligner.last_estimate
        row["delay_estimate_ms"] = None if estimate is None else round(estimate.delay_ms, 2)
        row["delay_error_ms"] = None if estimate is None else round(abs(estimate.delay_ms - TRUE_DELAY_MS), 2)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backends", default=",".join(BACKENDS), help="comma-separated backends")
    parser.add_argument("--drift", default="0,70", help="comma-separated capture clock drifts in ppm")
    args = parser.parse_args()
    reply = echo_sim.synthesize_piper(echo_sim.REPLY_TEXT)
    user = echo_sim.synthesize_espeak(echo_sim.USER_TEXT)
    rows = [measure(backend, reply, user, float(drift)) for drift in args.drift.split(",")
            for backend in args.backends.split(",")]

    header = (f"{'backend':<17} {'drift':>5} {'ERLE 0.3-2s':>11} {'ERLE 2-8s':>9} {'VAD-FP reply':>12} "
              f"{'VAD-FP 2-8s':>11} {'CPU p50/p95 us':>15} {'delay err':>9} {'user lost':>9} {'onset lost':>10}  "
              "double-talk transcript (user 0 dB | -6 dB)")
    print(header)
    print("-" * len(header))
    for r in rows:
        cpu = f"{r['cpu_us_p50']:.0f}/{r['cpu_us_p95']:.0f}"
        delay = "-" if r["delay_error_ms"] is None else f"{r['delay_error_ms']:.1f} ms"
        name = r["backend"] if r["ended_on"] == r["name"] else f"{r['backend']}>{r['ended_on'].split('+')[0]}"
        print(f"{name:<17} {r['drift_ppm']:>5.0f} {r['erle_db_0.3_2s']:>8.1f} dB {r['erle_db_2_8s']:>6.1f} dB "
              f"{r['vad_fp_reply_pct']:>11.2f}% {r['vad_fp_converged_pct']:>10.2f}% {cpu:>15} {delay:>9} "
              f"{r['user_lost_db']:>6.1f} dB {r['onset_lost_ms']:>7.0f} ms  "
              f"{r['transcript']!r} | {r['transcript_quiet_user']!r}")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({"true_delay_ms": TRUE_DELAY_MS, "device_latency_ms": DEVICE_LATENCY_MS,
                               "results": rows}, indent=2))
    print(f"\nwrote {OUT}")


if __name__ == "__main__":
    main()
