"""The controller: the Qt adapter between the views and the conversation core.

A ``VoiceSession`` runs the live conversation and a ``SpeechSession`` each speech-studio job (both in
``qwenvoice.session``, Qt-free). This class turns their reports into Qt signals and the views' actions
into session calls; views read the session's plain-data records through it and never touch the
network or audio themselves. Everything runs on the Qt main thread, which is the asyncio loop (qasync).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from qwenvoice.net.backoff import ReconnectPolicy
from qwenvoice.net.client import ConnectOptions, RealtimeClient
from qwenvoice.protocol.events import ErrorDetail, Usage
from qwenvoice.protocol.omni import OmniConversation
from qwenvoice.protocol.tts_text import split_paragraphs, split_sentences
from qwenvoice.session import status as st
from qwenvoice.session.audio_link import Block
from qwenvoice.session.conversation import Conversation
from qwenvoice.session.echo_control import EchoControl, recommended_settings
from qwenvoice.session.eventlog import EventLog, event_payload
from qwenvoice.session.metrics import CaptureClock, SessionMetrics
from qwenvoice.session.offline_server import OfflineServer
from qwenvoice.session.speech import SpeechResult, SpeechSession
from qwenvoice.session.tool_calls import ToolApprovalRequest, ToolCallReport
from qwenvoice.session.voice import OFFLINE_BANNER, RunOptions, VoiceSession
from qwenvoice.session.waveform_data import TimelineRing
from qwenvoice.settings.schema import AppSettings, TtsSettings
from qwenvoice.settings.secrets import ApiKeyStatus, ApiKeyStore
from qwenvoice.settings.services import ConnectionCheck, DeviceInfo, EchoState, EchoTestReport
from qwenvoice.settings.store import SettingsStore

log = logging.getLogger(__name__)

__all__ = ["OFFLINE_BANNER", "Controller", "RunOptions", "event_payload"]

_STARTUP_NOTICES_KEPT = 20  # a controller that no view ever asks keeps no more than this


class _Reports(QObject):
    """The sessions' listener: each report becomes the controller's signal of the same meaning."""

    def __init__(self, controller: Controller) -> None:
        super().__init__(controller)
        self._c = controller

    def notice(self, level: str, text: str, action: str) -> None:
        self._c.keep_startup_notice(level, text, action)
        self._c.notice.emit(level, text, action)

    def connection_changed(self, info: st.ConnectionInfo) -> None:
        self._c.connection_changed.emit(info)

    def turn_changed(self, index: int) -> None:
        self._c.turn_changed.emit(index)

    def conversation_reset(self) -> None:
        self._c.conversation_reset.emit()

    def metrics_updated(self) -> None:
        self._c.metrics_updated.emit()

    def mode_changed(self, mode: str) -> None:
        self._c.mode_changed.emit(mode)

    def talking_changed(self, talking: bool) -> None:
        self._c.talking_changed.emit(talking)

    def response_active_changed(self, active: bool) -> None:
        self._c.response_active_changed.emit(active)

    def settings_changed(self, settings: AppSettings) -> None:
        self._c.settings_changed.emit(settings)

    def server_error(self, error: ErrorDetail) -> None:
        """The notice already says it; the window needs nothing more."""

    def notices_cleared(self, action: str) -> None:
        self._c.notices_cleared.emit(action)

    def tool_called(self, report: ToolCallReport) -> None:
        self._c.tool_called.emit(report)

    def tool_approval_requested(self, request: ToolApprovalRequest) -> None:
        """A view that answers approvals (``controller.approves_tools``) gets it; without one the tool
        does not run."""
        if self._c.approves_tools:
            self._c.tool_approval_requested.emit(request)
        else:
            request.answer(False)

    def speech_progress(self, done: int, expected: int) -> None:
        self._c.tts_progress.emit(done, expected)

    def speech_state_changed(self, state: str, detail: str) -> None:
        self._c.tts_state_changed.emit(state, detail)


class Controller(QObject):
    connection_changed = Signal(object)  # ConnectionInfo
    turn_changed = Signal(int)  # index into conversation.turns (added or updated)
    conversation_reset = Signal()
    notice = Signal(str, str, str)  # level, text, action
    notices_cleared = Signal(str)  # action: the notices offering it no longer apply
    metrics_updated = Signal()
    mode_changed = Signal(str)
    talking_changed = Signal(bool)
    response_active_changed = Signal(bool)
    tts_progress = Signal(int, int)  # segments done, segments expected
    tts_state_changed = Signal(str, str)  # idle|connecting|speaking|done|stopped|failed, detail
    settings_changed = Signal(object)  # AppSettings
    tool_called = Signal(object)  # ToolCallReport: a function call started or ended
    tool_approval_requested = Signal(object)  # ToolApprovalRequest: answer(True/False) lets a tool that acts run

    def __init__(self, options: RunOptions | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._reports = _Reports(self)
        self.approves_tools = False  # set by a view connected to tool_approval_requested
        self.voice = VoiceSession(self._reports, options)
        self._speech: SpeechSession | None = None
        self._tts_task: asyncio.Task[str] | None = None
        self._studio_result = SpeechResult()  # the studio's last job (a voice preview is not kept)
        self._closer: asyncio.Task[None] | None = None
        # Notices sent before a view listens (a damaged settings file is found before the window
        # exists), kept until the first view takes them; None once taken.
        self._startup_notices: list[tuple[str, str, str]] | None = []

    # ------------------------------------------------------------------ what the views read

    @property
    def options(self) -> RunOptions:
        return self.voice.options

    @property
    def settings(self) -> AppSettings:
        return self.voice.settings

    @property
    def data_root(self) -> Path:
        return self.voice.data_root

    @property
    def connection(self) -> st.ConnectionInfo:
        return self.voice.connection

    @property
    def conversation(self) -> Conversation:
        return self.voice.conversation

    @property
    def eventlog(self) -> EventLog:
        return self.voice.eventlog

    @property
    def metrics(self) -> SessionMetrics:
        return self.voice.metrics

    @property
    def capture_clock(self) -> CaptureClock:
        return self.voice.capture_clock

    @property
    def mic_ring(self) -> TimelineRing:
        return self.voice.audio.mic_ring

    @property
    def assistant_ring(self) -> TimelineRing:
        return self.voice.audio.assistant_ring

    @property
    def mic_blocks(self) -> int:
        return self.voice.audio.mic_blocks

    @property
    def mode(self) -> str:
        return self.voice.mode

    @property
    def talking(self) -> bool:
        return self.voice.turns.talking

    @property
    def response_active(self) -> bool:
        return self.voice.replies.response_active

    @property
    def model(self) -> str:
        return self.voice.model

    @property
    def server(self) -> OfflineServer | None:
        return self.voice.server

    @property
    def client(self) -> RealtimeClient | None:
        return self.voice.client

    @property
    def session(self) -> OmniConversation | None:
        return self.voice.machine

    @property
    def audio(self) -> object | None:
        """The AudioEngine while sound devices run."""
        return self.voice.audio.engine

    @property
    def echo(self) -> EchoControl | None:
        return self.voice.audio.echo

    @property
    def session_configured(self) -> bool:
        """The server has taken this connection's session settings (``session.updated``)."""
        machine = self.voice.machine
        return bool(machine is not None and machine.ready)

    @property
    def dropped_late_deltas(self) -> int:
        return self.voice.replies.dropped_late_deltas

    @property
    def shutting_down(self) -> bool:
        return self.voice.shutting_down

    def mic_level_dbfs(self) -> float:
        return self.voice.audio.mic_level_dbfs()

    def playback_status(self) -> st.PlaybackStatus:
        return self.voice.audio.playback_status(self.dropped_late_deltas)

    # ------------------------------------------------------------------ notices

    def keep_startup_notice(self, level: str, text: str, action: str) -> None:
        """Keep a notice for the window that is not built yet (see take_startup_notices)."""
        kept = self._startup_notices
        if kept is not None and len(kept) < _STARTUP_NOTICES_KEPT:
            kept.append((level, text, action))

    def take_startup_notices(self) -> list[tuple[str, str, str]]:
        """The notices (level, text, action) sent so far, once: for the view that connects to ``notice``
        after they were sent. Later notices only come through the signal."""
        kept, self._startup_notices = self._startup_notices or [], None
        return kept

    # ------------------------------------------------------------------ settings

    def load_settings(self) -> None:
        self.voice.load_settings()

    def key_store(self) -> ApiKeyStore:
        return self.voice.key_store()

    @property
    def settings_store(self) -> SettingsStore | None:
        return self.voice.store

    def apply_settings(self, settings: AppSettings) -> None:
        self.voice.apply_settings(settings)

    # ------------------------------------------------------------------ the conversation

    async def start(self) -> None:
        await self.voice.start()

    def reconnect(self) -> None:
        self.voice.reconnect()

    async def shutdown(self) -> None:
        await self.voice.shutdown(before_disconnect=self.stop_speaking_async())

    def set_mode(self, mode: str) -> None:
        self.voice.turns.set_mode(mode)

    def press_talk(self) -> None:
        self.voice.turns.press()

    def release_talk(self) -> None:
        self.voice.turns.release()

    def stop(self) -> None:
        self.voice.stop()

    def send_text(self, text: str) -> None:
        self.voice.send_text(text)

    def new_conversation(self) -> None:
        self.voice.new_conversation()

    def feed_mic(self, pcm: Block | bytes) -> None:
        self.voice.feed_mic(pcm)

    def set_volume(self, volume: float) -> None:
        self.voice.audio.set_volume(volume)

    def on_close_requested(self, done: Callable[[], None]) -> None:
        """Window closed: shut down, then call ``done`` (which quits the application)."""

        async def close() -> None:
            try:
                await self.shutdown()
            finally:
                done()

        self._closer = asyncio.get_running_loop().create_task(close(), name="qwenvoice-close")

    # ------------------------------------------------------------------ speech studio (TTS)

    def tts_description(self) -> str:
        t = self.settings.tts
        return f"voice {t.voice} · {t.language_type} · {self.settings.connection.tts_model}"

    def speech_duration_s(self) -> float:
        return self._studio_result.seconds

    def speak(self, text: str, mode: str = "server_commit") -> None:
        if self._tts_task is not None and not self._tts_task.done():
            self.voice.say(st.INFO, "Already speaking: stop it first.")
            return
        self._tts_task = self.voice.spawn(self._speak(text, mode), "qwenvoice-tts")

    async def preview_voice(self, model: str, tts: TtsSettings, text: str) -> None:
        """Speak ``text`` with these TTS settings (raises with a user-facing message on failure)."""
        await self.stop_speaking_async()
        task = self.voice.spawn(self._speak(text, tts.mode, tts=tts, model=model, keep=False),
                                "qwenvoice-tts-preview")
        self._tts_task = task
        failed = await task
        if failed:
            raise RuntimeError(failed)

    async def _tts_endpoint(self, model: str | None) -> tuple[str, str | None, str]:
        voice = self.voice
        model = model or self.settings.connection.tts_model
        if voice.connection.offline or voice.url is None:
            return await voice.local.url(), voice.local.token, model
        if self.options.url:
            return self.options.url, voice.api_key, model
        return self.settings.connection.endpoint_url() or voice.url, voice.api_key, model

    async def _speak(self, text: str, mode: str, tts: TtsSettings | None = None, model: str | None = None,
                     keep: bool = True) -> str:
        """One speech job played as it streams; returns "" or what went wrong. ``keep``: it becomes
        what Save WAV saves (the studio's text; a voice preview is not kept)."""
        audio = self.voice.audio
        self._reports.speech_state_changed("connecting", "")
        try:
            url, key, model = await self._tts_endpoint(model)
            # The format asked for is the one set (the job decodes mp3/opus for the player, and Save keeps
            # the server's bytes); to_config sends bit_rate only with the format that takes it.
            cfg = dataclasses.replace((tts or self.settings.tts).to_config(model), mode=mode)

            def play(response_id: str, item_id: str, pcm: bytes, rate: int) -> None:
                audio.untimed_responses.add(response_id)  # not a conversation turn: no latency sample
                audio.play(response_id, item_id, pcm, rate)

            speech = SpeechSession(model, cfg, listener=self._reports, on_audio=play,
                                   on_audio_done=audio.end_of_response, eventlog=self.eventlog)
            if keep:
                self._studio_result = speech.result
            self._speech = speech
            await speech.connect(url, key)
        except Exception as exc:
            self._reports.speech_state_changed("failed", str(exc))
            self.voice.say(st.ERROR, f"Speech studio could not connect: {exc}", st.ACTION_OPEN_SETTINGS)
            return f"could not connect: {exc}"
        self._reports.speech_state_changed("speaking", "")
        try:
            result = await speech.run(studio_segments(text, mode))
        finally:
            self._speech = None
        if result.usage != Usage():
            self.voice.metrics.usage.add(result.usage)  # TTS characters count in the session's usage too
            self._reports.metrics_updated()
        failed = result.failure
        if failed:
            self.voice.say(st.ERROR, f"Speech studio: {failed}", st.ACTION_OPEN_SETTINGS)
        self._reports.speech_state_changed("failed" if failed else "done", failed or f"{result.seconds:.1f} s")
        return failed

    def stop_speaking(self) -> None:
        self.voice.spawn(self.stop_speaking_async(), "qwenvoice-tts-stop")

    async def stop_speaking_async(self) -> None:
        task = self._tts_task
        if task is None or task.done():
            return
        speech = self._speech
        audio = self.voice.audio
        if speech is not None:
            for rid in list(speech.result.response_ids):
                audio.flush(rid)
        audio.flush(None)
        task.cancel()
        with contextlib.suppress(BaseException):
            await task
        if speech is not None:
            await speech.close()
        self._reports.speech_state_changed("stopped", f"{self.speech_duration_s():.1f} s")

    def speech_file_suffix(self) -> str:
        """The extension Save gives the studio's last job: .wav, .mp3 or .opus, by its format."""
        return self._studio_result.file_suffix

    def save_speech(self, path: Path) -> Path:
        result = self._studio_result
        result.save(path)
        self.voice.say(st.INFO, f"Saved {result.seconds:.1f} s of speech to {path}")
        return path

    # ------------------------------------------------------------------ what the settings panel asks

    def play_test_tone(self, output_device: str | None, volume_percent: int) -> None:
        self.voice.audio.play_test_tone(volume_percent)

    def start_mic_monitor(self, input_device: str | None) -> None:
        """The level meter always follows the running microphone; nothing extra to open."""

    def stop_mic_monitor(self) -> None:
        """See start_mic_monitor."""

    async def test_connection(self, url: str | None, model: str, api_key: str | None) -> ConnectionCheck:
        """Open a session with these values and report how it went (never raises)."""
        try:
            if url is None:
                url = await self.voice.local.url()
                api_key = self.voice.local.token
            elif api_key is None:
                api_key = self.voice.lookup_key()
            if not api_key:  # the cloud would refuse it anyway; say so rather than what the socket saw
                return ConnectionCheck(False, "No API key", missing_key=True)
            started = time.monotonic()
            client = RealtimeClient(url, api_key, model=model, policy=ReconnectPolicy(max_attempts=0),
                                    options=ConnectOptions(open_timeout=8.0))
            try:
                await asyncio.wait_for(client.start(), 15.0)
                elapsed = (time.monotonic() - started) * 1000
                return ConnectionCheck(True, f"Connected in {elapsed:.0f} ms", elapsed)
            finally:
                await client.close()
        except Exception as exc:
            return ConnectionCheck(False, f"Could not connect: {exc}")

    def echo_state(self) -> EchoState | None:
        return self.voice.audio.echo_state()

    async def run_echo_self_test(self, input_device: str | None | object = ...,
                                 output_device: str | None | object = ..., *, apply: bool = False) -> EchoTestReport:
        """Pause the app's streams, play a probe and measure the echo, reopen them (``...``: the saved
        devices). With ``apply``, take the recommended audio settings."""
        audio = self.settings.audio
        report = await self.voice.audio.run_echo_self_test(
            audio,
            audio.input_device if input_device is ... else _device(input_device),
            audio.output_device if output_device is ... else _device(output_device),
        )
        if apply and report.ok:
            settings = self.settings.copy()
            settings.audio = recommended_settings(settings.audio, report)
            if settings != self.settings:
                self.apply_settings(settings)
        return report

    def device_lists(self) -> tuple[list[DeviceInfo], list[DeviceInfo]]:
        return self.voice.audio.device_lists()

    # ----- settings services (keys): the settings layer writes them, the form only asks

    def api_key_status(self) -> ApiKeyStatus | None:
        """Where the API key comes from; None when keys cannot be stored here."""
        try:
            return self.key_store().status()
        except Exception as exc:  # no config dir yet, a broken keyring: the form says storage is unavailable
            log.warning("API key storage is not available: %s", exc)
            return None

    def save_api_key(self, key: str, *, allow_plaintext_file: bool = False) -> None:
        """Store the key for the next connections (raises SecretStoreError with a user-facing reason)."""
        self.key_store().set(key, allow_plaintext_file=allow_plaintext_file)

    def clear_api_key(self) -> None:
        self.key_store().delete()


def studio_segments(text: str, mode: str) -> list[str]:
    """The studio's modes do what they are called: "commit" makes one segment (one commit, one response)
    per paragraph; in "server_commit" the server cuts where it likes, and the sentences only tell the
    progress bar how many segments to expect."""
    segments = split_paragraphs(text) if mode == "commit" else split_sentences(text)
    return segments or [text]


def _device(value: object) -> str | None:
    return value if isinstance(value, str) else None
