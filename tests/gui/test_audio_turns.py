"""Whole turns through the window with the real offline server (a child process, started by the
controller) and the virtual PulseAudio devices: espeak-ng speech played into the virtual microphone,
reply audio recorded from the speaker's monitor."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

import pytest
from PySide6.QtCore import Qt

from qwenvoice.app.controller import Controller, RunOptions
from qwenvoice.session import status as st
from qwenvoice.ui.main_window import MainWindow
from tests.gui.helpers import SpeakerRecorder, play_into_mic, pulse_available, speech_wav, wait_for

pytestmark = [
    pytest.mark.audio,
    pytest.mark.offline,
    pytest.mark.skipif(not pulse_available(), reason="needs the virtual PulseAudio devices (.ci/devices.sh)"),
]


@contextlib.asynccontextmanager
async def running_app(qtbot, tmp_path, mode: str) -> AsyncIterator[MainWindow]:
    """The window and a started controller in offline mode; shut down (server reaped) on the way out."""
    from qwenvoice.settings.store import SettingsStore

    # The virtual rig has no path from the speaker to the microphone: it is a headphones set-up. With
    # the speakers default the echo canceller runs, and during double talk it can hold back the user's
    # cut-in words (the open speakers work; see tests/e2e's speakers variant).
    store = SettingsStore(tmp_path / "config")
    settings = store.load().settings
    settings.audio.listening_setup = "headphones"
    store.save(settings)
    c = Controller(RunOptions(offline=True, mode=mode, audio=True, data_root=tmp_path / "data",
                              config_dir=tmp_path / "config"))
    win = MainWindow(c)
    qtbot.addWidget(win)
    win.show()
    win.activateWindow()
    qtbot.waitExposed(win)
    try:
        await c.start()
        await wait_for(lambda: c.connection.state == st.READY and c.session_configured, within=120)
        assert c.audio is not None and c.audio.capture.running and c.audio.player.running
        yield win
    finally:
        server = c.server
        await c.shutdown()
        assert server is not None and server.process is not None and server.process.returncode is not None


@pytest.fixture(autouse=True)
def _no_key(tmp_path, monkeypatch):
    monkeypatch.delenv("DASHSCOPE_API_KEY", raising=False)
    monkeypatch.setenv("QWENVOICE_CONFIG_DIR", str(tmp_path / "config"))


def transcript_of(win: MainWindow):
    return lambda: [(t.role, t.display_text) for t in win.controller.conversation.turns]


def _text_of(win: MainWindow, role: str) -> list[str]:
    return [t.display_text for t in win.controller.conversation.turns if t.role == role]


async def test_vad_turn_speech_in_reply_out(qtbot, tmp_path):
    async with running_app(qtbot, tmp_path, "vad") as win:
        c = win.controller
        assert any("Offline mode" in text for text in win.notifications.texts())
        wav = speech_wav(tmp_path / "q.wav", "What time is it?")
        recorder = await SpeakerRecorder().start()
        try:
            # A cold offline server is still loading its speech models (tens of seconds on a busy
            # machine): if the first question goes unheard, ask once more.
            for attempt in range(2):
                await play_into_mic(wav)
                try:
                    await wait_for(lambda: any("time" in t.lower() for t in _text_of(win, "user")),
                                   within=40, what=transcript_of(win))
                    break
                except AssertionError:
                    if attempt == 1:
                        raise
            await wait_for(lambda: any(t.startswith("It's") for t in _text_of(win, "assistant")),
                           within=60, what=transcript_of(win))
            await wait_for(lambda: recorder.loud_seconds() > 0.3, within=30)
        finally:
            await recorder.stop()
        bubbles = [b.text.text() for b in win.transcript.bubbles]
        assert any("time" in b.lower() for b in bubbles) and any("It's" in b for b in bubbles)
        assert c.metrics.latencies, "latency measured at the speaker"
        assert 0.1 < c.metrics.latencies[0] < 90  # the first turn includes loading the speech models
        assert "ms" in win.status.latency.text()


async def test_push_to_talk_turn_with_the_space_key(qtbot, tmp_path):
    async with running_app(qtbot, tmp_path, "ptt") as win:
        c = win.controller
        wav = speech_wav(tmp_path / "q.wav", "Please tell me the time.", pad_s=0.3)
        recorder = await SpeakerRecorder().start()
        try:
            win.transcript.setFocus()
            qtbot.keyPress(win, Qt.Key.Key_Space)
            assert c.talking
            await play_into_mic(wav)
            await asyncio.sleep(0.2)
            qtbot.keyRelease(win, Qt.Key.Key_Space)
            await wait_for(lambda: not c.talking, within=2)  # the release is debounced
            await wait_for(lambda: any("time" in t.lower() for t in _text_of(win, "user")),
                           within=60, what=transcript_of(win))
            await wait_for(lambda: any(t.startswith("It's") for t in _text_of(win, "assistant")),
                           within=60, what=transcript_of(win))
            await wait_for(lambda: recorder.loud_seconds() > 0.3, within=30)
        finally:
            await recorder.stop()
        sent = [r.type for r in c.eventlog.records() if r.direction == "out"]
        assert "input_audio_buffer.commit" in sent and "response.create" in sent


async def test_push_to_talk_keeps_the_last_word_sent_after_the_key_rises(qtbot, tmp_path):
    """Released the moment the speech ends: the words still on their way from the device are sent
    (the release tail) before the commit, and the turn is understood."""
    async with running_app(qtbot, tmp_path, "ptt") as win:
        c = win.controller
        # whisper tiny.en hears this espeak phrase right even with its start cut; it misheard "What time
        # is it?" as "What kind of it?". Its last word is the one the release tail must keep.
        wav = speech_wav(tmp_path / "q.wav", "Thank you very much.", pad_s=0.0)
        win.transcript.setFocus()
        qtbot.keyPress(win, Qt.Key.Key_Space)
        await play_into_mic(wav)
        released = time.time()
        qtbot.keyRelease(win, Qt.Key.Key_Space)
        await wait_for(lambda: not c.talking, within=2)
        await wait_for(lambda: any(r.type == "input_audio_buffer.commit" for r in c.eventlog.records()), within=5)
        records = [r for r in c.eventlog.records() if r.direction == "out" and r.time >= released]
        types = [r.type for r in records]
        commit = types.index("input_audio_buffer.commit")
        assert "input_audio_buffer.append" in types[:commit], types[:commit + 1]
        tail_s = records[commit].time - released
        assert tail_s >= 0.1, f"committed {tail_s * 1000:.0f} ms after the release: no tail"
        # Audio went out after the key-up was acted on (the 40 ms debounce), not only before it.
        late = [r for r in records[:commit] if r.type == "input_audio_buffer.append" and r.time >= released + 0.06]
        assert late, "nothing was sent during the release tail"
        assert "input_audio_buffer.append" not in types[commit + 1 :], "audio sent after the commit"
        await wait_for(lambda: any("very much" in t.lower() for t in _text_of(win, "user")),
                       within=60, what=transcript_of(win))


async def _long_reply_then(win: MainWindow, recorder: SpeakerRecorder, cut) -> tuple[float, float]:
    """Ask for the long help text, cut in once it is audible; returns (cut time, last loud time)."""
    c = win.controller
    c.send_text("What can you do?")
    await wait_for(lambda: recorder.loud_seconds() > 0.8, within=60, what=transcript_of(win))
    loop = asyncio.get_running_loop()
    cut_at = loop.time()
    await cut()
    await asyncio.sleep(2.0)
    loud = recorder.loud_times()
    return cut_at, max(loud)


async def test_stop_button_silences_the_speaker(qtbot, tmp_path):
    async with running_app(qtbot, tmp_path, "ptt") as win:
        c = win.controller
        recorder = await SpeakerRecorder().start()

        async def press_stop() -> None:
            win.stop_action.trigger()

        try:
            cut_at, last_loud = await _long_reply_then(win, recorder, press_stop)
        finally:
            await recorder.stop()
        # the help reply lasts several seconds; after Stop the monitor is quiet within a few blocks
        assert last_loud - cut_at < 0.35, f"still audible {last_loud - cut_at:.2f} s after Stop"
        assert c.conversation.turns[-1].interrupted
        assert "interrupted" in win.transcript.bubbles[-1].text.text()
        assert c.playback_status().state in (st.FLUSHED, "idle")


async def test_speaking_during_a_reply_cuts_in(qtbot, tmp_path):
    async with running_app(qtbot, tmp_path, "vad") as win:
        c = win.controller
        wav = speech_wav(tmp_path / "cut.wav", "Wait, stop please.", pad_s=1.0)
        recorder = await SpeakerRecorder().start()
        speaking: list[asyncio.Task[None]] = []

        async def talk_over() -> None:
            speaking.append(asyncio.get_running_loop().create_task(play_into_mic(wav)))
            await wait_for(lambda: any(t.interrupted for t in c.conversation.turns), within=20)

        try:
            cut_at, last_loud = await _long_reply_then(win, recorder, talk_over)
            await asyncio.gather(*speaking)
        finally:
            await recorder.stop()
        interrupted = [t for t in c.conversation.turns if t.interrupted]
        assert interrupted and interrupted[0].role == "assistant"
        # the reply would have gone on for seconds: it stopped soon after the server heard the user
        assert last_loud - cut_at < 1.5
        assert (c.conversation.folder / "assistant.wav").exists()
