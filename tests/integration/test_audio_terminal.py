"""`qwenvoice ask --play` and `ask --mic` against the scripted server, on real PulseAudio devices:
the reply is recorded from the speaker's monitor, the question is spoken into a virtual microphone."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from qwenvoice.audio.wav import write_wav
from tests.support.scripted_server import Script, ScriptedServer, sine_pcm, speech_like_pcm


def _pulse_ready() -> bool:
    if shutil.which("pactl") is None or shutil.which("parec") is None or shutil.which("paplay") is None:
        return False
    try:
        out = subprocess.run(["pactl", "list", "short", "sinks"], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return False
    return out.returncode == 0 and "speaker" in out.stdout


pytestmark = [
    pytest.mark.audio,
    pytest.mark.skipif(not _pulse_ready(), reason="needs the virtual PulseAudio devices (.ci/devices.sh)"),
]

PYTHON = sys.executable


@pytest.fixture(scope="module")
def sinks():
    """A private speaker and microphone feed (other audio on the shared server stays out); unloaded after."""
    tag = f"qvterm{os.getpid()}"
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
            readers.append(subprocess.Popen(["parec", "--latency-msec=10", "-d", f"{name}.monitor", "--raw"],
                                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        time.sleep(2.1)
        yield speaker, feed
    finally:
        for reader in readers:
            reader.terminate()
            reader.wait(timeout=5)
        for module in modules:
            subprocess.run(["pactl", "unload-module", module], timeout=10, check=False)


def run_cli(*args: str, timeout: float = 90) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PYTHON, "-m", "qwenvoice", *args], capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL, check=False)


def test_ask_play_streams_the_reply_to_the_speaker(tmp_path: Path, sinks):
    speaker, _ = sinks
    question = tmp_path / "q.wav"
    write_wav(question, speech_like_pcm(), 16000)
    recording = tmp_path / "rec.raw"
    with open(recording, "wb") as out:
        rec = subprocess.Popen(["parec", "-d", f"{speaker}.monitor", "--raw", "--format=s16le", "--rate=48000",
                                "--channels=1", "--latency-msec=10"], stdout=out, stderr=subprocess.DEVNULL)
        try:
            with ScriptedServer(Script(reply_pcm=sine_pcm(1.2, freq=660.0, amplitude=0.4))).in_thread() as srv:
                done = run_cli("ask", "--wav", str(question), "--play", "--output-device", speaker,
                               "--url", srv.url, "--out", str(tmp_path / "reply.wav"))
        finally:
            time.sleep(0.2)
            rec.terminate()
            rec.wait(timeout=5)
    assert done.returncode == 0, done.stderr
    assert "assistant: It is sunny and warm today." in done.stdout
    assert "playback: first reply chunk to first sample played:" in done.stdout
    latency_ms = float(done.stdout.split("first sample played: ")[1].split(" ms")[0])
    assert 0 <= latency_ms < 300
    heard = np.frombuffer(recording.read_bytes(), dtype="<i2").astype(np.float32) / 32768
    windows = heard[: heard.size - heard.size % 48].reshape(-1, 48)
    audible_ms = np.count_nonzero(np.abs(windows).max(axis=1) > 0.05)
    assert audible_ms == pytest.approx(1200, abs=5)  # the whole reply, to its last sample
    tone = heard[np.abs(heard) > 0.05]
    spectrum = np.abs(np.fft.rfft(heard))
    assert np.fft.rfftfreq(heard.size, 1 / 48000)[np.argmax(spectrum)] == pytest.approx(660, abs=3)
    assert tone.size > 0


def test_ask_mic_takes_the_question_from_the_microphone(tmp_path: Path, sinks):
    speaker, feed = sinks
    question = tmp_path / "q48k.wav"
    pcm16k = np.frombuffer(speech_like_pcm(speech_s=1.2), dtype="<i2")
    pcm48k = np.repeat(pcm16k, 3)  # plain sample repetition is fine for a test signal
    write_wav(question, pcm48k.astype("<i2").tobytes(), 48000)
    script = Script(reply_pcm=sine_pcm(0.5, freq=440.0))
    with ScriptedServer(script).in_thread() as srv:
        proc = subprocess.Popen(
            [PYTHON, "-m", "qwenvoice", "ask", "--mic", "--input-device", f"{feed}.monitor", "--play",
             "--output-device", speaker, "--url", srv.url, "--timeout", "30"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True,
        )
        try:
            time.sleep(2.0)  # the CLI starts, connects and opens the microphone
            subprocess.run(["paplay", "-d", feed, str(question)], check=True, timeout=30)
            stdout, stderr = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
        appended = srv.connections[0].appended_audio_bytes if srv.connections else 0
    assert proc.returncode == 0, stderr
    assert f"listening on Monitor of {feed} [PulseAudio]" in stderr
    assert "you: What is the weather like?" in stdout
    assert "assistant: It is sunny and warm today." in stdout
    assert "playback: first reply chunk to first sample played:" in stdout
    assert appended > 16000 * 2 * 1.2  # at least the spoken question went up, as 16 kHz pcm16


def test_ask_mic_manual_ends_the_turn_with_enter(tmp_path: Path, sinks):
    _, feed = sinks
    question = tmp_path / "q48k.wav"
    pcm16k = np.frombuffer(speech_like_pcm(speech_s=1.0, tail_s=0.0), dtype="<i2")
    write_wav(question, np.repeat(pcm16k, 3).astype("<i2").tobytes(), 48000)
    with ScriptedServer(Script(reply_pcm=sine_pcm(0.3))).in_thread() as srv:
        proc = subprocess.Popen(
            [PYTHON, "-m", "qwenvoice", "ask", "--mic", "--manual", "--input-device", f"{feed}.monitor",
             "--url", srv.url, "--out", str(tmp_path / "reply.wav"), "--timeout", "30"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.PIPE, text=True,
        )
        try:
            time.sleep(2.0)
            subprocess.run(["paplay", "-d", feed, str(question)], check=True, timeout=30)
            time.sleep(1.5)  # silence: without server VAD nothing happens until Enter
            assert srv.received("input_audio_buffer.commit") == []
            assert proc.stdin is not None
            proc.stdin.write("\n")
            proc.stdin.flush()
            stdout, stderr = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
        commits = srv.received("input_audio_buffer.commit")
        appended = srv.connections[0].appended_audio_bytes if srv.connections else 0
    assert proc.returncode == 0, stderr
    assert len(commits) == 1 and "you: What is the weather like?" in stdout
    assert "wrote" in stdout and appended >= 16000 * 2 * 1.0
