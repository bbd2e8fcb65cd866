"""The audio engine on real PortAudio devices: the headless PulseAudio set up by .ci/devices.sh
(sink `speaker` with its monitor, sink `micfeed` behind the source `mic`)."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import time
import wave
from pathlib import Path

import numpy as np
import pytest
import soxr

from qwenvoice.audio.engine import AudioEngine
from qwenvoice.audio.playback import Player


def _pulse_ready() -> bool:
    if shutil.which("pactl") is None or shutil.which("parec") is None:
        return False
    try:
        out = subprocess.run(["pactl", "list", "short", "sinks"], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return False
    return out.returncode == 0 and "speaker" in out.stdout and "micfeed" in out.stdout


pytestmark = [
    pytest.mark.audio,
    pytest.mark.skipif(not _pulse_ready(), reason="needs the virtual PulseAudio devices (.ci/devices.sh)"),
]

MONITOR_RATE = 48000


@pytest.fixture(scope="module")
def sinks():
    """A private speaker and microphone feed for this module, so that other audio on the shared
    sound server (the app's own default devices) cannot leak into the recordings. Unloaded after."""
    tag = f"qvtest{os.getpid()}"
    speaker, feed = f"{tag}_speaker", f"{tag}_feed"
    modules, readers = [], []
    try:
        for name, channels in ((speaker, 2), (feed, 1)):
            out = subprocess.run(
                ["pactl", "load-module", "module-null-sink", f"sink_name={name}", "rate=48000",
                 f"channels={channels}", f"sink_properties=device.description={name}"],
                capture_output=True, text=True, check=True, timeout=10,
            )
            modules.append(out.stdout.strip())
            # a low-latency reader on each monitor stops the null sink from rendering in 2 s blocks
            readers.append(subprocess.Popen(
                ["parec", "--latency-msec=10", "-d", f"{name}.monitor", "--raw"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            ))
        time.sleep(2.1)
        yield speaker, feed
    finally:
        for reader in readers:
            reader.terminate()
            reader.wait(timeout=5)
        for module in modules:
            subprocess.run(["pactl", "unload-module", module], timeout=10, check=False)


class MonitorRecorder:
    """Records a PulseAudio source (e.g. speaker.monitor) with parec, mono float32 at 48 kHz."""

    def __init__(self, source: str, path: Path) -> None:
        self.path = path
        self._file = open(path, "wb")  # noqa: SIM115 - closed in stop()
        self._proc = subprocess.Popen(
            ["parec", "-d", source, "--raw", "--format=s16le", f"--rate={MONITOR_RATE}", "--channels=1",
             "--latency-msec=10"],
            stdout=self._file, stderr=subprocess.DEVNULL,
        )

    def stop(self) -> np.ndarray:
        time.sleep(0.15)
        self._proc.terminate()
        self._proc.wait(timeout=5)
        self._file.close()
        return np.frombuffer(self.path.read_bytes(), dtype="<i2").astype(np.float32) / 32768.0


def tone_pcm16(freq: float, seconds: float, rate: int = 24000, amplitude: float = 0.5) -> bytes:
    t = np.arange(int(rate * seconds)) / rate
    return (np.sin(2 * np.pi * freq * t) * amplitude * 32767).astype("<i2").tobytes()


def audible_span(x: np.ndarray, threshold: float = 0.05) -> tuple[int, int]:
    idx = np.nonzero(np.abs(x) > threshold)[0]
    assert idx.size, "nothing audible was recorded"
    return int(idx[0]), int(idx[-1])


def audible_ms(x: np.ndarray, threshold: float = 0.05) -> float:
    """Milliseconds of tone in a recording, not counting silence the sound server may have inserted
    when the shared machine starved it (our own underruns are checked through the metrics)."""
    frames = x[: x.size - x.size % 48].reshape(-1, 48)  # 1 ms windows at 48 kHz
    return float(np.count_nonzero(np.abs(frames).max(axis=1) > threshold))


async def push_paced(player: Player, pcm: bytes, response_id: str, item_id: str, chunk_ms: int = 40,
                     speed: float = 2.0) -> None:
    """Deliver like the server does: chunks at `speed` x real time."""
    step = 24000 * 2 * chunk_ms // 1000
    for start in range(0, len(pcm), step):
        player.push(pcm[start : start + step], response_id, item_id)
        await asyncio.sleep(chunk_ms / 1000 / speed)


async def test_tone_through_the_engine_is_recorded_at_the_right_frequency_and_length(tmp_path, sinks):
    speaker, _ = sinks
    engine = AudioEngine(output_device=speaker)
    recorder = MonitorRecorder(f"{speaker}.monitor", tmp_path / "rec.raw")
    try:
        assert await engine.start_playback(), engine.notices
        assert engine.player.device is not None and engine.player.device.pulse_name == speaker
        started = []
        engine.player.on_item_started.append(started.append)
        await asyncio.sleep(0.2)
        await push_paced(engine.player, tone_pcm16(440.0, 1.5), "resp_1", "item_1")
        engine.player.end_of_response("resp_1")
        assert await engine.player.wait_idle(10)
        metrics = engine.player.metrics()
    finally:
        recording = recorder.stop()
        await engine.aclose()
    first, last = audible_span(recording)
    tone = recording[first : last + 1]
    spectrum = np.abs(np.fft.rfft(tone * np.hanning(tone.size)))
    peak_hz = np.argmax(spectrum) * MONITOR_RATE / tone.size
    assert abs(peak_hz - 440.0) < 2.0
    # played to the last sample: the recorded tone is as long as the one pushed
    assert audible_ms(recording) == pytest.approx(1500, abs=3)
    assert metrics.underruns == 0 and metrics.played_ms_by_item["item_1"] == pytest.approx(1500, abs=2)
    assert started and started[0].first_chunk_to_first_sample_ms is not None
    assert 0 < started[0].first_chunk_to_first_sample_ms < 300


async def test_flush_stops_the_speaker_within_one_block(tmp_path, sinks):
    speaker, _ = sinks
    engine = AudioEngine(output_device=speaker)
    recorder = MonitorRecorder(f"{speaker}.monitor", tmp_path / "rec.raw")
    try:
        assert await engine.start_playback(), engine.notices
        await asyncio.sleep(0.2)
        pcm = tone_pcm16(1000.0, 4.0)
        engine.player.push(pcm[: len(pcm) // 2], "resp_1", "item_1")  # 2 s queued, more to come
        await asyncio.sleep(0.9)
        report = engine.player.flush()
        engine.player.push(pcm[len(pcm) // 2 :], "resp_1", "item_1")  # a late chunk: must be dropped
        await asyncio.sleep(0.5)
        metrics = engine.player.metrics()
    finally:
        recording = recorder.stop()
        await engine.aclose()
    heard_ms = audible_ms(recording)
    block_ms = engine.player.block_ms
    assert report.item_id == "item_1" and 600 < report.played_ms < 1000
    assert report.played_samples == pytest.approx(report.played_ms * 24, abs=1)
    # What reached the speaker is what the engine says was played, plus at most one block (the fade).
    assert report.played_ms - 2 <= heard_ms <= report.played_ms + block_ms + 2
    assert metrics.dropped_stale_chunks == 1 and metrics.flushes == 1
    assert metrics.flushed_ms == pytest.approx(report.dropped_ms)


def _speech_wav(tmp_path: Path) -> tuple[Path, np.ndarray]:
    """espeak-ng speech at 48 kHz for paplay, and the same speech at 16 kHz as the reference."""
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed")
    raw = tmp_path / "speech22k.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-w", str(raw), "Hello assistant, what is the weather like today?"],
                   check=True, timeout=30)
    with wave.open(str(raw)) as w:
        rate = w.getframerate()
        speech = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float32) / 32768.0
    speech48 = soxr.resample(speech, rate, 48000).astype(np.float32)
    path = tmp_path / "speech48k.wav"
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(48000)
        w.writeframes((np.clip(speech48, -1, 1) * 32767).astype("<i2").tobytes())
    return path, soxr.resample(speech, rate, 16000).astype(np.float32)


def _best_correlation(captured: np.ndarray, reference: np.ndarray) -> float:
    n = captured.size + reference.size
    size = 1 << (n - 1).bit_length()
    corr = np.fft.irfft(np.fft.rfft(captured, size) * np.conj(np.fft.rfft(reference, size)), size)
    lag = int(np.argmax(corr))
    if lag + reference.size > captured.size:
        lag -= size
    segment = captured[max(lag, 0) : max(lag, 0) + reference.size]
    ref = reference[: segment.size]
    return float(np.dot(segment, ref) / (np.linalg.norm(segment) * np.linalg.norm(ref) + 1e-12))


async def test_speech_into_the_virtual_microphone_arrives_at_16k_mono(tmp_path, sinks):
    _, feed = sinks
    wav, reference = _speech_wav(tmp_path)
    engine = AudioEngine(input_device=f"{feed}.monitor")
    blocks: list[np.ndarray] = []
    try:
        assert await engine.start_capture(), engine.notices
        engine.capture.subscribe(blocks.append)
        await asyncio.sleep(0.3)
        proc = await asyncio.create_subprocess_exec("paplay", "-d", feed, str(wav))
        await proc.wait()
        await asyncio.sleep(0.4)
        metrics = engine.capture.metrics()
        loudest = float(np.abs(engine.capture.meter.recent(5.0)).max())
    finally:
        await engine.aclose()
    assert engine.capture.device is not None and engine.capture.device.pulse_name == f"{feed}.monitor"
    captured = np.concatenate(blocks).astype(np.float32) / 32768.0
    assert all(b.dtype == np.int16 and b.ndim == 1 for b in blocks)
    assert captured.size / 16000 > reference.size / 16000  # everything arrived, at 16 kHz
    assert _best_correlation(captured, reference) > 0.9
    assert metrics.device_rate == 48000 and metrics.dropped_blocks == 0
    assert metrics.capture_to_loop_ms_p50 < 20
    assert loudest > 0.1  # the level meter's ring saw the speech


async def test_push_to_talk_sends_only_while_held_with_preroll(tmp_path, sinks):
    _, feed = sinks
    wav, _ = _speech_wav(tmp_path)
    engine = AudioEngine(input_device=f"{feed}.monitor")
    sent: list[np.ndarray] = []
    everything: list[np.ndarray] = []
    try:
        engine.capture.gate.continuous = False
        assert await engine.start_capture(), engine.notices
        engine.capture.subscribe(sent.append)
        engine.capture.subscribe_all(everything.append)
        await asyncio.sleep(0.6)
        assert not sent  # nothing leaves while the key is up
        engine.capture.press()
        proc = await asyncio.create_subprocess_exec("paplay", "-d", feed, str(wav))
        await proc.wait()
        engine.capture.release()
        sent_while_held = sum(b.size for b in sent)
        await asyncio.sleep(0.3)
        assert sum(b.size for b in sent) == sent_while_held  # released: nothing more
    finally:
        await engine.aclose()
    assert sent[0].size == 300 * 16  # the pre-roll came first
    assert sent_while_held > 16000 * 2


def test_devices_command_lists_the_virtual_devices():
    out = subprocess.run(
        [sys.executable, "-m", "qwenvoice", "devices"],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert out.returncode == 0, out.stderr
    assert "* VirtualSpeaker [PulseAudio]" in out.stdout
    assert "* VirtualMic [PulseAudio]" in out.stdout


def test_no_sound_server_gives_a_clear_error_and_the_engine_keeps_working(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("XDG_RUNTIME_DIR", "PULSE_SERVER")}
    env["PULSE_SERVER"] = f"unix:{tmp_path}/nothing-here"
    env["XDG_RUNTIME_DIR"] = str(tmp_path)
    script = (
        "import asyncio\n"
        "from qwenvoice.audio.engine import AudioEngine\n"
        "async def main():\n"
        "    e = AudioEngine()\n"
        "    ok = await e.start_playback()\n"
        "    print('started', ok, e.player.push(b'\\0\\0' * 480, 'r', 'i'))\n"
        "    print('notice', e.notices[-1].message if e.notices else '')\n"
        "    await e.aclose()\n"
        "asyncio.run(main())\n"
    )
    python = sys.executable
    run = subprocess.run([python, "-c", script], capture_output=True, text=True, timeout=60, env=env)
    assert run.returncode == 0, run.stderr
    assert "started False False" in run.stdout and "notice No speaker found" in run.stdout
    devices = subprocess.run([python, "-m", "qwenvoice", "devices"], capture_output=True, text=True,
                             timeout=60, env=env)
    assert devices.returncode == 1 and "no audio devices found" in devices.stderr
    question = tmp_path / "q.wav"
    with wave.open(str(question), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(bytes(3200))
    for option, message in (("--play", "--play: No speaker found."), ("--mic", "--mic: No microphone found.")):
        source = ["--mic"] if option == "--mic" else ["--wav", str(question), "--play"]
        ask = subprocess.run([python, "-m", "qwenvoice", "ask", *source, "--url", "ws://127.0.0.1:9/x"],
                             capture_output=True, text=True, timeout=60, env=env, stdin=subprocess.DEVNULL)
        assert ask.returncode == 2 and message in ask.stderr and "Traceback" not in ask.stderr


async def test_without_names_the_engine_opens_the_default_speaker_and_microphone():
    engine = AudioEngine()
    try:
        assert await engine.start_playback(), engine.notices
        assert await engine.start_capture(), engine.notices
        await asyncio.sleep(0.5)
        assert engine.player.device is not None and engine.player.device.identity == "VirtualSpeaker [PulseAudio]"
        assert engine.capture.device is not None and engine.capture.device.identity == "VirtualMic [PulseAudio]"
        assert engine.capture.metrics().blocks > 5 and engine.player.metrics().callbacks > 10
        assert not [n for n in engine.notices if n.error]
    finally:
        await engine.aclose()


async def test_a_missing_device_name_falls_back_to_the_default_with_a_notice():
    engine = AudioEngine(output_device="no such speaker")
    try:
        assert await engine.start_playback()
        assert engine.player.device is not None and engine.player.device.is_default
        assert any("'no such speaker' is not available" in n.message for n in engine.notices)
    finally:
        await engine.aclose()


async def test_echo_canceller_hook_sees_the_played_signal_and_cleans_the_capture(sinks):
    speaker, _ = sinks

    class Recorder:
        def __init__(self) -> None:
            self.played: list[np.ndarray] = []
            self.captured = 0

        def feed_playback(self, pcm: np.ndarray) -> None:
            self.played.append(pcm.copy())

        def process_capture(self, block: np.ndarray) -> np.ndarray:
            self.captured += block.size
            return np.zeros_like(block)  # "cancel" everything

        def output_glitched(self) -> None:
            pass

        def restart(self) -> None:
            pass

    engine = AudioEngine(output_device=speaker, input_device=f"{speaker}.monitor")
    processor = Recorder()
    sent: list[np.ndarray] = []
    try:
        detach = engine.attach_echo_canceller(processor)
        assert await engine.start_playback(), engine.notices
        assert await engine.start_capture(), engine.notices
        engine.capture.subscribe(sent.append)
        engine.player.push(tone_pcm16(700.0, 1.0), "resp_1", "item_1")
        engine.player.end_of_response("resp_1")
        assert await engine.player.wait_idle(5)
        await asyncio.sleep(0.2)
        detach()
    finally:
        await engine.aclose()
    played = np.concatenate(processor.played).astype(np.float32) / 32768
    assert played.dtype == np.float32 and played.size > 16000  # 16 kHz, silence included
    loud = played[np.abs(played) > 0.05]
    assert loud.size > 0.9 * 16000 * 0.9
    spectrum = np.abs(np.fft.rfft(played))
    assert np.fft.rfftfreq(played.size, 1 / 16000)[np.argmax(spectrum)] == pytest.approx(700, abs=3)
    assert processor.captured > 16000 and not np.concatenate(sent).any()
    assert engine.capture.filter is None
