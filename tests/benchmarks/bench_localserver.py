"""Benchmark (not a test) of the offline server: reply latency, TTS first audio, memory.

    .venv/bin/python tests/benchmarks/bench_localserver.py [--turns 10]

Starts ``qwenvoice serve`` as a child process, as the app does, then:
- Omni VAD turns: espeak-ng questions streamed in real time (20 ms appends, then silence); latency is
  from the last speech sample sent to the first ``response.audio.delta``, with ``silence_duration_ms``
  500 and 800 (the VAD hangover is part of it by design);
- TTS: first ``response.audio.delta`` after the commit of an 89-character sentence (commit mode), and
  after the first append in server_commit mode;
- the server's RSS after start, after the models loaded, and at the end.
Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import wave
from pathlib import Path

import numpy as np
import psutil
import soxr
import websockets

from qwenvoice.protocol.codec import decode_server_event, encode_event
from qwenvoice.protocol.events import (
    InputAudioBufferAppend,
    InputTextBufferAppend,
    InputTextBufferCommit,
    ResponseAudioDelta,
    ResponseDone,
    SessionFinish,
    SessionFinished,
    SessionUpdate,
    SessionUpdated,
)

TOKEN = "bench-token"
PHRASES = [
    "What time is it?",
    "Hello, how are you doing today?",
    "Please set a timer for five minutes.",
    "Tell me the date.",
    "Can you help me?",
]
TTS_TEXT = "The offline server reads this sentence aloud, and we time how long the first audio takes."
CHUNK = 320  # 20 ms at 16 kHz


def espeak_16k(text: str, folder: Path) -> np.ndarray:
    path = folder / "q.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-w", str(path), text], check=True)
    with wave.open(str(path)) as w:
        audio = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16)
        rate = w.getframerate()
    return soxr.resample(audio.astype(np.float32), rate, 16000).astype(np.int16)


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.array(values), q)) if values else float("nan")


async def omni_turns(url: str, silence_ms: int, turns: int, speech: list[np.ndarray]) -> list[float]:
    latencies: list[float] = []
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with websockets.connect(
        f"{url}?model=qwen3-omni-flash-realtime", additional_headers=headers, compression=None
    ) as ws:
        await ws.recv()
        turn_detection = {"type": "server_vad", "threshold": 0.5, "silence_duration_ms": silence_ms}
        await ws.send(encode_event(SessionUpdate({"turn_detection": turn_detection})))
        while not isinstance(decode_server_event(await ws.recv()), SessionUpdated):
            pass
        for turn in range(turns):
            audio = np.concatenate([np.zeros(8000, np.int16), speech[turn % len(speech)]])
            trailing = np.zeros(CHUNK, np.int16)
            first_audio = asyncio.get_running_loop().create_future()
            done = asyncio.get_running_loop().create_future()

            async def reader(first_audio: asyncio.Future[float], done: asyncio.Future[None]) -> None:
                async for message in ws:
                    event = decode_server_event(message)
                    if isinstance(event, ResponseAudioDelta) and not first_audio.done():
                        first_audio.set_result(time.perf_counter())
                    if isinstance(event, ResponseDone):
                        done.set_result(None)
                        return

            # The recording ends with some silence of its own: time from the chunk with its last voiced sample.
            last_voiced = int(np.nonzero(np.abs(audio) > 200)[0][-1])
            read = asyncio.create_task(reader(first_audio, done))
            start = time.perf_counter()
            sent = 0
            last_speech_sent = start
            for offset in range(0, audio.size, CHUNK):
                await ws.send(encode_event(InputAudioBufferAppend(audio[offset : offset + CHUNK].tobytes())))
                if offset <= last_voiced < offset + CHUNK:
                    last_speech_sent = time.perf_counter()
                sent += 1
                await asyncio.sleep(max(0.0, start + sent * 0.02 - time.perf_counter()))
            while not done.done():  # keep streaming silence, as a live microphone does
                await ws.send(encode_event(InputAudioBufferAppend(trailing.tobytes())))
                sent += 1
                await asyncio.sleep(max(0.0, start + sent * 0.02 - time.perf_counter()))
            await read
            latencies.append(first_audio.result() - last_speech_sent)
            for _ in range(25):  # half a second of quiet between turns
                await ws.send(encode_event(InputAudioBufferAppend(trailing.tobytes())))
                await asyncio.sleep(0.02)
    return latencies


async def tts_first_audio(url: str, mode: str, runs: int) -> list[float]:
    latencies: list[float] = []
    headers = {"Authorization": f"Bearer {TOKEN}"}
    for _ in range(runs):
        async with websockets.connect(
            f"{url}?model=qwen3-tts-flash-realtime", additional_headers=headers, compression=None
        ) as ws:
            await ws.recv()
            await ws.send(encode_event(SessionUpdate({"mode": mode, "voice": "Ethan"})))
            while not isinstance(decode_server_event(await ws.recv()), SessionUpdated):
                pass
            start = time.perf_counter()
            await ws.send(encode_event(InputTextBufferAppend(TTS_TEXT)))
            if mode == "commit":
                await ws.send(encode_event(InputTextBufferCommit()))
            else:
                start = time.perf_counter()
            first = None
            await ws.send(encode_event(SessionFinish()))
            async for message in ws:
                event = decode_server_event(message)
                if isinstance(event, ResponseAudioDelta) and first is None:
                    first = time.perf_counter()
                if isinstance(event, SessionFinished):
                    break
            assert first is not None
            latencies.append(first - start)
    return latencies


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--turns", type=int, default=10)
    args = parser.parse_args()

    launched = time.perf_counter()
    server = subprocess.Popen(
        [sys.executable, "-m", "qwenvoice", "serve", "--port", "0", "--token", TOKEN],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert server.stdout is not None and server.stderr is not None
    line = server.stdout.readline()
    ready_seconds = time.perf_counter() - launched
    match = re.search(r"(ws://\S+)", line)
    if not match:
        print("server did not start:", line, server.stderr.read(), file=sys.stderr)
        return 1
    url = match.group(1)
    proc = psutil.Process(server.pid)
    rss_start = proc.memory_info().rss
    threading.Thread(target=lambda: [None for _ in server.stderr], daemon=True).start()  # keep it drained
    asyncio.run(tts_first_audio(url, "commit", 1))  # returns once the models have loaded and spoken
    models_ready_seconds = time.perf_counter() - launched
    rss_loaded = proc.memory_info().rss

    load_before = os.getloadavg()
    cpu_before = sum(proc.cpu_times()[:2])
    with tempfile.TemporaryDirectory() as folder:
        speech = [espeak_16k(p, Path(folder)) for p in PHRASES]
        results: dict[str, list[float]] = {}
        for silence_ms in (500, 800):
            results[f"omni_{silence_ms}"] = asyncio.run(omni_turns(url, silence_ms, args.turns, speech))
        omni_cpu = sum(proc.cpu_times()[:2]) - cpu_before
        results["tts_commit"] = asyncio.run(tts_first_audio(url, "commit", args.turns))
        results["tts_server_commit"] = asyncio.run(tts_first_audio(url, "server_commit", args.turns))
    rss_end = proc.memory_info().rss
    load_after = os.getloadavg()
    server.terminate()
    server.wait(timeout=30)

    def row(name: str, key: str) -> str:
        values = [v * 1000 for v in results[key]]
        return f"| {name} | {len(values)} | {percentile(values, 50):.0f} | {percentile(values, 95):.0f} |"

    print()
    print("| measurement | n | p50 ms | p95 ms |")
    print("|---|---|---|---|")
    print(row("last speech sample → first response.audio.delta, silence_duration_ms 500", "omni_500"))
    print(row("last speech sample → first response.audio.delta, silence_duration_ms 800", "omni_800"))
    print(row(f"TTS commit mode: commit → first audio ({len(TTS_TEXT)} chars)", "tts_commit"))
    print(row("TTS server_commit: first append → first audio", "tts_server_commit"))
    print()
    print(
        f"ready line {ready_seconds:.2f} s after launch; first speech (models loaded in the background) "
        f"{models_ready_seconds:.2f} s after launch"
    )
    print(
        f"server CPU: {omni_cpu / (2 * args.turns):.2f} s per Omni turn (VAD, ASR, TTS, protocol); "
        f"machine load average {load_before[0]:.1f} before, {load_after[0]:.1f} after, on {os.cpu_count()} CPUs"
    )
    mib = 1024 * 1024
    print(
        f"server RSS: {rss_start / mib:.0f} MiB at ready, {rss_loaded / mib:.0f} MiB with models, "
        f"{rss_end / mib:.0f} MiB after {2 * args.turns} turns and {2 * args.turns} TTS sessions"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
