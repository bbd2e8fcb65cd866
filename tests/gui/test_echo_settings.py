"""The Audio tab's echo controls and the echo self-test, with the real controller, a loopback realtime
server and real PulseAudio devices: a private speaker sink and mic-feed sink (the shared `speaker` and
`micfeed` carry other tests' audio), with a loopback from the speaker to the mic for "speakers"."""

from __future__ import annotations

import contextlib
import gc
import os
import time
from collections.abc import AsyncIterator, Iterator

import numpy as np
import pytest
from PySide6.QtCore import Qt

from qwenvoice.app.controller import Controller, RunOptions
from qwenvoice.session import status as st
from qwenvoice.settings.services import ECHO_FULL_DUPLEX_AEC, ECHO_HALF_DUPLEX, ECHO_NO_ECHO
from qwenvoice.settings.store import SettingsStore
from qwenvoice.ui.settings_panel import build_for_controller
from tests.gui.helpers import TOKEN, wait_for
from tests.support.pulse import NullSink, pulse_ready, speaker_leak
from tests.support.scripted_server import Script, ScriptedServer

pytestmark = [
    pytest.mark.audio,
    pytest.mark.skipif(not pulse_ready(), reason="needs the virtual PulseAudio devices (.ci/devices.sh)"),
]


@pytest.fixture(autouse=True)
def _collect_on_the_main_thread() -> Iterator[None]:
    """The self-test runs Python in a worker thread, and a garbage collection there would destroy
    leftover Qt objects (earlier tests' panels and controllers) off the GUI thread, leaving their
    timers dangling. Collect them here, on the GUI thread, before and after each test."""
    gc.collect()
    yield
    gc.collect()


@pytest.fixture(scope="module")
def sinks() -> Iterator[tuple[NullSink, NullSink]]:
    tag = f"qvechogui{os.getpid()}"
    speaker = NullSink(f"{tag}_speaker", channels=2)
    feed = NullSink(f"{tag}_feed", channels=1)
    try:
        time.sleep(1.0)  # the monitor readers settle the sinks' latency
        yield speaker, feed
    finally:
        speaker.close()
        feed.close()


@contextlib.asynccontextmanager
async def running(qtbot, tmp_path, monkeypatch, sinks, listening_setup: str = "speakers",  # type: ignore[no-untyped-def]
                  half_duplex: bool = False) -> AsyncIterator[tuple[Controller, object]]:
    speaker, feed = sinks
    monkeypatch.setenv("DASHSCOPE_API_KEY", TOKEN)
    config = tmp_path / "config"
    store = SettingsStore(config)
    settings = store.load().settings
    settings.audio.input_device = feed.monitor
    settings.audio.output_device = speaker.name
    settings.audio.listening_setup = listening_setup
    settings.audio.half_duplex = half_duplex
    store.save(settings)
    async with ScriptedServer(Script(), token=TOKEN) as server:
        c = Controller(RunOptions(url=server.url, audio=True, data_root=tmp_path / "data", config_dir=config))
        try:
            await c.start()
            await wait_for(lambda: c.connection.state == st.READY, within=30)
            assert c.audio is not None and c.audio.capture.running and c.audio.player.running, c.audio.notices
            panel = build_for_controller(c)
            qtbot.addWidget(panel)
            panel.show()
            panel.tabs.setCurrentIndex(3)  # Audio
            yield c, panel
        finally:
            await c.shutdown()


def _saved(tmp_path):  # type: ignore[no-untyped-def]
    return SettingsStore(tmp_path / "config").load().settings.audio


async def test_audio_tab_echo_switches_drive_the_running_capture_path(qtbot, tmp_path, monkeypatch, sinks):
    async with running(qtbot, tmp_path, monkeypatch, sinks) as (c, panel):
        engine, echo = c.audio, c.echo
        assert echo is not None and engine.capture.filter is not None
        await wait_for(lambda: echo.processor.stats.frames > 50)  # real captured blocks go through it
        state = c.echo_state()
        assert state.mode == "cancelling" and state.backend and not state.half_duplex
        panel.refresh_echo_status()
        assert "Cancelling with" in panel.echo_status.text() and "ms per 10 ms frame" in panel.echo_status.text()

        # headphones: cancellation off, the switches that do not apply are disabled; streams keep running
        combo = panel.controls["audio.listening_setup"]
        combo.setCurrentIndex(combo.findData("headphones"))
        assert not panel.controls["audio.echo_cancellation"].isEnabled()
        assert not panel.controls["audio.half_duplex"].isEnabled()
        assert panel.apply()
        assert c.echo is echo and c.audio is engine  # applied live, no restart
        assert c.echo_state().mode == "off" and _saved(tmp_path).listening_setup == "headphones"
        panel.refresh_echo_status()
        assert panel.echo_status.text().startswith("Echo cancellation off")

        # speakers + half duplex
        combo.setCurrentIndex(combo.findData("speakers"))
        assert panel.controls["audio.half_duplex"].isEnabled()
        panel.controls["audio.half_duplex"].setChecked(True)
        assert panel.apply()
        assert c.echo_state().half_duplex and c.echo_state().mode == "cancelling"
        assert _saved(tmp_path).half_duplex is True
        panel.refresh_echo_status()
        assert "muted while the assistant speaks" in panel.echo_status.text()

        # a reply plays: the mic is muted; Stop (barge-in by button) opens it at once
        c.play_test_tone(None, 30)
        await wait_for(lambda: not c.echo.mic_open(), within=5)
        muted_before = c.echo.gate.muted_samples
        await wait_for(lambda: c.echo.gate.muted_samples > muted_before)
        c.stop()
        assert c.echo.mic_open()
        muted_at_stop = c.echo.gate.muted_samples
        blocks = c.mic_blocks
        await wait_for(lambda: c.mic_blocks >= blocks + 10)  # 200 ms of microphone after the interruption
        assert c.echo.gate.muted_samples == muted_at_stop and c.echo.mic_open()


async def test_echo_self_test_button_without_a_leak_reports_no_echo(qtbot, tmp_path, monkeypatch, sinks):
    async with running(qtbot, tmp_path, monkeypatch, sinks) as (c, panel):
        engine = c.audio
        started = time.monotonic()
        qtbot.mouseClick(panel.echo_test_button, Qt.MouseButton.LeftButton)
        assert not panel.echo_test_button.isEnabled() and panel.echo_test_progress.isVisible()
        assert "listening" in panel.echo_test_result.text()
        # the app's own streams pause for the probe
        await wait_for(lambda: not (engine.capture.running or engine.player.running), within=5)
        await wait_for(lambda: panel.echo_test_button.isEnabled(), within=30,
                       what=lambda: (panel.echo_test_result.text(), c.audio, [(t, t.done() and t.exception())
                                                                               for t in panel._tasks]))
        elapsed = time.monotonic() - started
        report = panel._echo_report
        assert report is not None and report.ok, panel.echo_test_result.text()
        assert report.recommendation == ECHO_NO_ECHO, report
        assert panel.echo_test_result.text().startswith("No echo"), panel.echo_test_result.text()
        assert sinks[0].name in report.summary and sinks[1].name in report.summary
        assert not panel.echo_test_progress.isVisible()
        assert not panel.apply_echo_button.isVisible()  # already full duplex: nothing to change
        assert 3.0 < elapsed < 20.0, elapsed
        # the conversation's streams are back, echo cancellation still attached and re-anchored
        assert c.audio is engine and engine.capture.running and engine.player.running
        assert engine.capture.filter is not None
        frames = c.echo.processor.stats.frames
        await wait_for(lambda: c.echo.processor.stats.frames > frames + 50)


async def test_echo_self_test_with_a_leak_recommends_and_the_button_applies_it(qtbot, tmp_path, monkeypatch, sinks):
    async with running(qtbot, tmp_path, monkeypatch, sinks, listening_setup="headphones") as (c, panel):
        assert c.echo_state().mode == "off"
        with speaker_leak(sinks[0].name, sinks[1].name, volume_percent=30):
            panel.run_echo_self_test()
            await wait_for(lambda: panel.echo_test_button.isEnabled(), within=30)
        report = panel._echo_report
        assert report is not None and report.ok, panel.echo_test_result.text()
        assert report.recommendation in (ECHO_FULL_DUPLEX_AEC, ECHO_HALF_DUPLEX), report
        assert report.delay_ms is not None and 200.0 < report.delay_ms < 1500.0, report
        assert report.echo_return_loss_db is not None and 24.0 <= report.echo_return_loss_db <= 38.0, report
        assert panel.echo_test_result.text().startswith("Echo "), panel.echo_test_result.text()
        assert panel.apply_echo_button.isVisible()
        qtbot.mouseClick(panel.apply_echo_button, Qt.MouseButton.LeftButton)
        half = report.recommendation == ECHO_HALF_DUPLEX
        saved = _saved(tmp_path)
        assert (saved.listening_setup, saved.echo_cancellation, saved.half_duplex) == ("speakers", True, half)
        assert c.settings.audio.listening_setup == "speakers"
        assert c.echo_state().mode == "cancelling" and c.echo_state().half_duplex is half
        assert not panel.apply_echo_button.isVisible()


async def test_controller_self_test_service_applies_its_recommendation(qtbot, tmp_path, monkeypatch, sinks):
    async with running(qtbot, tmp_path, monkeypatch, sinks, half_duplex=True) as (c, _panel):
        assert c.echo_state().half_duplex
        report = await c.run_echo_self_test(apply=True)  # the saved devices
        assert report.ok and report.recommendation == ECHO_NO_ECHO, report
        assert c.settings.audio.half_duplex is False and not c.echo_state().half_duplex
        assert _saved(tmp_path).half_duplex is False
        # a microphone that does not exist: the test falls back to the default and says so
        report = await c.run_echo_self_test("no such microphone", sinks[0].name)
        assert report.ok and report.notice and "no such microphone" in report.notice, report
        assert c.audio is not None and c.audio.capture.running
        assert np.isfinite(c.echo_state().delay_ms or 0.0)
