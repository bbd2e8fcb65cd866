"""The desktop app's CPU and memory over a minute of streaming conversation, waveform visible.

Runs the real window (xcb when an X display is up, else offscreen) with the controller in offline
mode: the offline server is a child process (its CPU is reported separately), the microphone is the
virtual PulseAudio source fed with espeak-ng questions every few seconds, replies play on the virtual
speaker. Measures the app process only: CPU % of one core (sampled every second), RSS, the
waveform's own paint time per frame and frames per second, turn latencies at the speaker.

    source .ci/devices.sh && .venv/bin/python -m tests.benchmarks.bench_gui [--seconds 60] [--compare]

``--compare`` adds a second phase of the same length with the conversation tab hidden (waveform
stopped), so the waveform's share of the app's CPU shows as a difference. Results go to
tests/benchmarks/out/bench_gui.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.support.display import x_display

OUT = Path(__file__).resolve().parent / "out"
QUESTIONS = ("What time is it?", "What day is it today?", "Please say hello.", "What time is it now?")


def _has_display() -> bool:
    return x_display() is not None


def _make_speech(folder: Path) -> list[Path]:
    files = []
    for i, text in enumerate(QUESTIONS):
        raw, wav = folder / f"q{i}.22k.wav", folder / f"q{i}.wav"
        subprocess.run(["espeak-ng", "-v", "en-us", "-w", str(raw), text], check=True)
        subprocess.run(["sox", str(raw), "-r", "16000", "-c", "1", str(wav), "pad", "0.2", "1.2"], check=True)
        files.append(wav)
    return files


async def _wait(predicate, within: float) -> bool:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not predicate():
        if loop.time() > deadline:
            return False
        await asyncio.sleep(0.05)
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--compare", action="store_true", help="also measure with the waveform hidden")
    parser.add_argument("--fps", type=int, default=30)
    args = parser.parse_args(argv)
    if not _has_display():
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    else:
        os.environ.setdefault("QT_QPA_PLATFORM", "xcb")
    os.environ.pop("DASHSCOPE_API_KEY", None)

    import psutil
    import qasync
    from PySide6.QtWidgets import QApplication

    from qwenvoice.app.controller import Controller, RunOptions
    from qwenvoice.ui.main_window import MainWindow

    work = Path(tempfile.mkdtemp(prefix="qwenvoice-bench-gui-"))
    speech = _make_speech(work)
    app = QApplication(sys.argv[:1])
    app.setQuitOnLastWindowClosed(False)
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    controller = Controller(RunOptions(offline=True, mode="vad", audio=True, data_root=work / "data",
                                       config_dir=work / "config"))
    controller.load_settings()
    window = MainWindow(controller)
    window.waveform.set_fps(args.fps)
    window.resize(1280, 800)
    window.show()
    me = psutil.Process()
    results: dict[str, object] = {
        "platform": os.environ["QT_QPA_PLATFORM"],
        "cpus": psutil.cpu_count(),
        "load_average_at_start": os.getloadavg()[0],
        "fps_setting": args.fps,
    }

    async def talk(stop: asyncio.Event) -> int:
        turns = 0
        while not stop.is_set():
            proc = await asyncio.create_subprocess_exec("paplay", "-d", "micfeed", str(speech[turns % len(speech)]))
            await proc.wait()
            turns += 1
            try:
                await asyncio.wait_for(stop.wait(), 6.0)  # the reply plays meanwhile
            except TimeoutError:
                pass
        return turns

    async def phase(name: str, seconds: float) -> dict[str, object]:
        server = psutil.Process(controller.server.pid) if controller.server and controller.server.pid else None
        frames0, paint0 = window.waveform.frames_painted, window.waveform.paint_seconds
        lat0 = len(controller.metrics.latencies)
        me.cpu_percent(None)
        if server is not None:
            server.cpu_percent(None)
        cpu0 = me.cpu_times()
        started = time.perf_counter()
        stop = asyncio.Event()
        talker = asyncio.get_running_loop().create_task(talk(stop))
        samples, rss = [], []
        while time.perf_counter() - started < seconds:
            await asyncio.sleep(1.0)
            samples.append(me.cpu_percent(None))
            rss.append(me.memory_info().rss / 2**20)
        stop.set()
        turns = await talker
        elapsed = time.perf_counter() - started
        cpu1 = me.cpu_times()
        frames = window.waveform.frames_painted - frames0
        paint = window.waveform.paint_seconds - paint0
        lat = controller.metrics.latencies[lat0:]
        out = {
            "seconds": round(elapsed, 1),
            "app_cpu_percent_mean": round((cpu1.user + cpu1.system - cpu0.user - cpu0.system) / elapsed * 100, 1),
            "app_cpu_percent_p95_of_1s": round(sorted(samples)[int(0.95 * (len(samples) - 1))], 1),
            "rss_mib_start": round(rss[0], 1),
            "rss_mib_end": round(rss[-1], 1),
            "rss_mib_max": round(max(rss), 1),
            "waveform_frames_per_s": round(frames / elapsed, 1),
            "waveform_ms_per_frame": round(paint / frames * 1000, 3) if frames else None,
            "waveform_cpu_percent": round(paint / elapsed * 100, 2),
            "questions_spoken": turns,
            "latencies_s": [round(x, 3) for x in lat],
            "latency_p50_s": round(statistics.median(lat), 3) if lat else None,
            "playback_underruns": controller.playback_status().underruns,
            "offline_server_cpu_percent": round(server.cpu_percent(None), 1) if server else None,
        }
        print(name, json.dumps(out), flush=True)
        return out

    async def run() -> None:
        await controller.start()
        await _wait(lambda: controller.connection.state == "ready", 120)
        # Warm-up (not measured): one turn, so the offline server has loaded its speech models.
        proc = await asyncio.create_subprocess_exec("paplay", "-d", "micfeed", str(speech[0]))
        await proc.wait()
        await _wait(lambda: bool(controller.metrics.latencies), 120)
        await asyncio.sleep(2.0)
        results["visible"] = await phase("waveform visible", args.seconds)
        if args.compare:
            window.tabs.setCurrentWidget(window.history)  # the conversation tab (and waveform) hidden
            await asyncio.sleep(1.0)
            results["hidden"] = await phase("waveform hidden", args.seconds)
        results["turns_total"] = len(controller.conversation.turns)
        await controller.shutdown()

    with loop:
        loop.run_until_complete(run())
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "bench_gui.json").write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
