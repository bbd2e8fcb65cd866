"""Audio faults with the whole app on real PulseAudio devices (.ci/devices.sh): the active speaker or
microphone pulled out mid-turn, no sound device at all, and a slow server whose deltas arrive with
0-300 ms of jitter (every gap heard at the speaker is one the jitter buffer reports).

Each test plays to / records from its own null sink and unloads it again; the shared devices stay
as they were.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest

from qwenvoice.audio.wav import write_wav
from qwenvoice.session import status as st
from tests.gui.helpers import wait_for
from tests.reliability.helpers import TOKEN, make_controller
from tests.support.pulse import NullSink, pulse_ready
from tests.support.scripted_server import Script, ScriptedServer, speech_like_pcm

pytestmark = [pytest.mark.qt_loop]
needs_pulse = pytest.mark.skipif(not pulse_ready(), reason="needs the virtual PulseAudio devices (.ci/devices.sh)")
ROOT = Path(__file__).resolve().parents[2]
_sinks = iter(range(1000))


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DASHSCOPE_API_KEY", TOKEN)


@pytest.fixture
async def sink() -> AsyncIterator[NullSink]:
    device = NullSink(f"qvrel{os.getpid()}x{next(_sinks)}")
    try:
        await asyncio.sleep(2.1)  # a new null sink renders in 2 s blocks until its reader is running
        yield device
    finally:
        device.close()
    assert not device.present()


def last_reply_done(c, count: int) -> bool:
    turns = c.conversation.turns
    return len(turns) >= count and turns[-1].role == "assistant" and turns[-1].final


def said(notices, prefix: str, text: str) -> list[tuple[str, str, str]]:
    return [n for n in notices.items if n[1].startswith(prefix) and text in n[1]]


@needs_pulse
async def test_the_speaker_pulled_out_mid_reply_is_reported_and_the_app_carries_on(tmp_path, sink):
    script = Script(reply_seconds=4.0, reply_text="A long answer that keeps playing for a few seconds.")
    async with ScriptedServer(script, token=TOKEN) as server:
        c, notices = make_controller(tmp_path, server.url, mode="ptt", audio=True, audio__output_device=sink.name)
        try:
            await c.start()
            await wait_for(lambda: c.connection.state == st.READY)
            player = c.audio.player
            assert player.device is not None and player.device.pulse_name == sink.name
            c.send_text("talk to me")
            await wait_for(lambda: player.metrics().played_ms_total > 400, within=10)
            sink.unplug()
            await wait_for(lambda: player.recoveries >= 1 and player.running, within=8, what=lambda: notices.items)
            assert player.device is not None and player.device.identity == "VirtualSpeaker [PulseAudio]"
            assert said(notices, "Speaker:", "was removed") and said(notices, "Speaker:", "now using VirtualSpeaker")
            assert said(notices, "Speaker:", "was removed")[0][2] == st.ACTION_AUDIO_SETTINGS
            played_then = player.metrics().played_ms_total
            await wait_for(lambda: last_reply_done(c, 2))
            await asyncio.sleep(0.6)
            assert player.metrics().played_ms_total - played_then > 300  # the reply goes on, on the default
            assert c.connection.state == st.READY and c.conversation.turns[1].text == script.reply_text
            c.send_text("and again")
            await wait_for(lambda: last_reply_done(c, 4))
        finally:
            t = time.monotonic()
            await c.shutdown()
            assert time.monotonic() - t < 5.0


@needs_pulse
async def test_the_microphone_pulled_out_mid_sentence_is_reported_and_the_turn_completes(tmp_path, sink):
    wav = tmp_path / "speech.wav"
    write_wav(wav, speech_like_pcm(rate=16000, speech_s=2.5, lead_s=0.3, tail_s=0.2), 16000)
    async with ScriptedServer(Script(reply_seconds=0.5), token=TOKEN) as server:
        c, notices = make_controller(tmp_path, server.url, mode="vad", audio=True, audio__input_device=sink.monitor)
        player_proc = None
        try:
            await c.start()
            await wait_for(lambda: c.connection.state == st.READY)
            capture = c.audio.capture
            assert capture.device is not None and capture.device.pulse_name == sink.monitor
            player_proc = await asyncio.create_subprocess_exec("paplay", "-d", sink.name, str(wav),
                                                               stderr=asyncio.subprocess.DEVNULL)
            await wait_for(lambda: any(t.role == "user" for t in c.conversation.turns), within=8)  # speaking
            sink.unplug()  # mid-sentence
            await wait_for(lambda: capture.recoveries >= 1 and capture.running, within=8, what=lambda: notices.items)
            assert capture.device is not None and capture.device.identity == "VirtualMic [PulseAudio]"
            assert said(notices, "Microphone:", "was removed")
            blocks = c.mic_blocks
            await wait_for(lambda: last_reply_done(c, 2), within=10)  # the turn ends on the new microphone
            assert c.mic_blocks > blocks and c.connection.state == st.READY
        finally:
            if player_proc is not None and player_proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    player_proc.kill()
                await player_proc.wait()
            await c.shutdown()


async def test_no_sound_device_at_all_is_reported_and_typing_still_works():
    """A fresh process whose PortAudio finds no device (PULSE_SERVER points at nothing, and there is
    no other sound hardware here): both missing devices are reported once, the session works by typing,
    and waiting for a device costs next to no CPU."""
    env = dict(os.environ, PULSE_SERVER="unix:/nonexistent-qwenvoice-test", QT_QPA_PLATFORM="offscreen")
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "tests.reliability.no_devices", "3",
                                                cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.STDOUT)
    out, _ = await asyncio.wait_for(proc.communicate(), 90)
    text = out.decode(errors="replace")
    assert proc.returncode == 0, text[-3000:]
    line = next(x for x in text.splitlines() if x.startswith("RESULT "))
    result = json.loads(line.removeprefix("RESULT "))
    errors = [t for level, t, _ in result["notices"] if level == st.ERROR]
    assert errors.count("Microphone: No microphone found.") == 1
    assert errors.count("Speaker: No speaker found.") == 1
    assert any("typing still works" in t for t in errors)
    assert result["ready"] and result["state"] == st.READY
    assert result["reply"] == "I can still hear your typing." and result["second_reply"]
    assert not result["capture_running"] and not result["playback_running"]
    assert result["idle_cpu_percent"] < 10.0
    assert result["shutdown_s"] < 3.0


def record(source: str, path: Path) -> subprocess.Popen[bytes]:
    """What reaches ``source`` as 16 kHz mono int16, written to ``path`` until terminated."""
    with open(path, "wb") as out:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(["parec", "-d", source, "--raw", "--format=s16le", "--rate=16000", "--channels=1",
                                 "--latency-msec=10"], stdout=out, stderr=subprocess.DEVNULL)


def _gaps(pcm: np.ndarray, rate: int = 16000, window_ms: int = 5, quiet: float = 0.02) -> tuple[list[float], float]:
    """Silent stretches (>= 2 windows) between the first and the last loud window, in ms; and the loud time."""
    n = rate * window_ms // 1000
    frames = pcm[: len(pcm) // n * n].astype(np.float64).reshape(-1, n) / 32768.0
    loud = np.sqrt(np.mean(frames**2, axis=1)) > quiet
    where = np.flatnonzero(loud)
    if where.size == 0:
        return [], 0.0
    inside = loud[where[0] : where[-1] + 1]
    gaps, run = [], 0
    for is_loud in inside:
        if is_loud:
            if run >= 2:
                gaps.append(run * window_ms)
            run = 0
        else:
            run += 1
    return [float(g) for g in gaps], float(loud.sum() * window_ms)


@needs_pulse
async def test_a_slow_server_with_jittery_deltas_has_no_gaps_beyond_what_the_jitter_buffer_reports(tmp_path, sink):
    # 100 ms of audio per delta, each delayed 0-300 ms: slower than real time on average, so it must underrun.
    script = Script(reply_seconds=3.0, delta_ms=100, delta_delay=0.15, delta_jitter=0.15,
                    reply_text="A reply that arrives in fits and starts.")
    recording = tmp_path / "heard.raw"
    async with ScriptedServer(script, token=TOKEN) as server:
        c, notices = make_controller(tmp_path, server.url, mode="ptt", audio=True, audio__output_device=sink.name)
        rec = None
        try:
            await c.start()
            await wait_for(lambda: c.connection.state == st.READY)
            player = c.audio.player
            rec = record(sink.monitor, recording)
            await asyncio.sleep(0.3)
            before = player.metrics()
            c.send_text("take your time")
            await wait_for(lambda: last_reply_done(c, 2), within=15)
            await wait_for(lambda: player.is_idle() and player.metrics().buffered_ms == 0, within=10)
            await asyncio.sleep(0.4)  # the device buffer drains into the recording
            after = player.metrics()
        finally:
            if rec is not None:
                rec.terminate()
                rec.wait(timeout=5)
            await c.shutdown()
    heard = np.frombuffer(recording.read_bytes()[: recording.stat().st_size // 2 * 2], dtype="<i2")
    gaps, loud_ms = _gaps(heard)
    underruns = after.underruns - before.underruns
    underrun_ms = after.underrun_ms - before.underrun_ms
    print(f"jitter 0-300 ms: {underruns} underruns ({underrun_ms:.0f} ms) reported; heard {len(gaps)} gaps "
          f"({sum(gaps):.0f} ms), {loud_ms:.0f} ms of reply audio")
    assert underruns >= 1  # the fault was real
    assert loud_ms >= 2800  # every bit of the 3 s reply was played
    assert len(gaps) <= underruns  # no gap the buffer did not report
    assert sum(gaps) <= underrun_ms + 40  # and none longer than reported (5 ms windows, device timing)
