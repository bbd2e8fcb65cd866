"""The controller: the one place where Qt meets the core.

It owns the settings, the offline server child process, the realtime client, the audio engine, the
conversation (persisted as it happens), the event log and the metrics, and exposes Qt signals to the
views. Views call its methods and read its plain-data attributes; they never touch the network or
audio themselves.

Everything here runs on the Qt main thread, which is also the asyncio loop (qasync). The audio
engine's capture callback reaches us through ``loop.call_soon_threadsafe`` once per block; the UI
pulls waveform rings and meters on its own timers.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, Signal

from qwenvoice.app import status as st
from qwenvoice.app.conversation import ASSISTANT_RATE, USER_RATE, Conversation, data_dir
from qwenvoice.app.eventlog import IN, OUT, EventLog
from qwenvoice.app.metrics import CaptureClock, SessionMetrics
from qwenvoice.app.offline_server import OfflineServer, OfflineServerError
from qwenvoice.app.waveform_data import TimelineRing
from qwenvoice.audio.wav import write_wav
from qwenvoice.protocol import events as ev
from qwenvoice.protocol.tts_text import split_sentences

log = logging.getLogger(__name__)

# Push-to-talk keeps sending this long after the key comes up (capture block + device latency + loop).
PTT_RELEASE_TAIL_S = 0.08
OFFLINE_BANNER = (
    "Offline mode: you are talking to the built-in local server. It understands English only and its "
    "replies are simple. Add a DashScope API key in Settings to talk to Qwen."
)


@dataclass(slots=True)
class RunOptions:
    """Per-run overrides from the command line (never saved)."""

    offline: bool = False
    url: str | None = None
    model: str | None = None
    mode: str | None = None
    data_root: Path | None = None  # default: the user data dir (QWENVOICE_DATA_DIR overrides)
    config_dir: Path | None = None  # default: the user config dir (QWENVOICE_CONFIG_DIR overrides)
    audio: bool = True  # open the sound devices (off: no capture or playback, e.g. a text-only run)
    server_start_timeout: float = 180.0
    connect_options: Any = None  # realtime client options (timeouts, session renewal); None = defaults


def event_payload(event: Any) -> tuple[dict[str, Any], int]:
    """A JSON-able dict of a typed event with binary payloads replaced by their size, and the
    approximate size of the event on the wire."""
    if isinstance(event, ev.UnknownEvent):
        return dict(event.raw), len(str(event.raw))
    if isinstance(event, ev.MalformedEvent):
        return {"type": "<malformed>", "reason": event.reason, "raw": event.raw[:200]}, len(event.raw)
    payload: dict[str, Any] = {"type": getattr(event, "TYPE", type(event).__name__)}
    size = 40
    for f in dataclasses.fields(event):
        value = getattr(event, f.name)
        if value is None and f.name == "event_id":
            continue
        if isinstance(value, bytes | bytearray):
            payload[f.name] = f"<audio: {len(value)} bytes elided>"
            size += (len(value) + 2) // 3 * 4
        elif dataclasses.is_dataclass(value) and not isinstance(value, type):
            payload[f.name] = dataclasses.asdict(value)
            size += 80
        else:
            payload[f.name] = value
            size += len(str(value)) + len(f.name) + 4
    return payload, size


async def _bounded(what: str, step: Awaitable[object], limit_s: float) -> None:
    """Run one shutdown step; log and go on if it fails or takes longer than `limit_s` seconds."""
    try:
        await asyncio.wait_for(step, limit_s)
    except TimeoutError:
        log.warning("%s took longer than %.0f s; going on with the shutdown", what, limit_s)
    except Exception:
        log.exception("%s failed", what)


class Controller(QObject):
    connection_changed = Signal(object)  # ConnectionInfo
    turn_changed = Signal(int)  # index into conversation.turns (added or updated)
    conversation_reset = Signal()
    notice = Signal(str, str, str)  # level, text, action
    metrics_updated = Signal()
    mode_changed = Signal(str)
    talking_changed = Signal(bool)
    response_active_changed = Signal(bool)
    tts_progress = Signal(int, int)  # segments done, segments expected
    tts_state_changed = Signal(str, str)  # idle|connecting|speaking|done|stopped|failed, detail
    settings_changed = Signal(object)  # AppSettings

    def __init__(self, options: RunOptions | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.options = options or RunOptions()
        self.data_root = self.options.data_root or data_dir()
        self.settings: Any = None
        self._store: Any = None
        self._key_store: Any = None
        self.mode = self.options.mode or "vad"
        self.talking = False
        self.response_active = False
        self.connection = st.ConnectionInfo()
        self.eventlog = EventLog()
        self.metrics = SessionMetrics()
        self.capture_clock = CaptureClock(USER_RATE)
        # Both lanes at 16 kHz: the assistant lane is fed what the speaker actually played.
        self.mic_ring = TimelineRing(USER_RATE, capacity_s=40)
        self.assistant_ring = TimelineRing(USER_RATE, capacity_s=40)
        self.conversation = Conversation(None)
        self.server: OfflineServer | None = None
        self.client: Any = None
        self.audio: Any = None  # the AudioEngine while running
        self.echo: Any = None  # its EchoControl (echo cancellation, half duplex)
        self._echo_testing = False
        self.api_key: str | None = None
        self.url: str | None = None
        self.model: str = ""
        self._tasks: set[asyncio.Task[Any]] = set()
        self._consumer: asyncio.Task[None] | None = None
        self._active_response: str | None = None
        self._cancelled: set[str] = set()
        self._received_ms: dict[str, float] = {}
        self.session: Any = None  # the OmniConversation of the current connection
        self._session_before_renewal: Any = None  # kept until a renewal has taken over (or failed)
        self._retry_create = False
        self._ptt_samples = 0
        self._talk_tail: asyncio.TimerHandle | None = None  # push-to-talk: the release tail still sending
        self._session_ready = False
        self._shutting_down = False
        self._started = False
        self._dropped_here = 0  # late audio of a cut reply that reached the controller
        self.mic_blocks = 0
        self._volume = 1.0
        # studio
        self._tts_client: Any = None
        self._tts_task: asyncio.Task[None] | None = None
        self._tts_audio: list[bytes] = []
        self._tts_rate = 24000
        self._tts_response_ids: set[str] = set()
        self._flushed_at = 0.0
        self._machine_tick: asyncio.Task[None] | None = None

    # ------------------------------------------------------------------ helpers

    @property
    def dropped_late_deltas(self) -> int:
        """Audio deltas of cut replies that were thrown away (by the state machine or here)."""
        machine_count = int(getattr(self.session, "dropped_deltas", 0) or 0)
        return self._dropped_here + machine_count

    @property
    def session_configured(self) -> bool:
        """The server has taken this connection's session settings (``session.updated``)."""
        return bool(self.session is not None and self.session.ready)

    def _spawn(self, coro: Any, name: str) -> asyncio.Task[Any]:
        task = asyncio.get_event_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            log.error("task %s failed", task.get_name(), exc_info=exc)
            self.notice.emit(st.ERROR, f"Something went wrong: {exc}", st.ACTION_NONE)

    def _set_connection(self, **changes: Any) -> None:
        self.connection = dataclasses.replace(self.connection, **changes)
        self.connection_changed.emit(self.connection)

    def _say(self, level: str, text: str, action: str = st.ACTION_NONE) -> None:
        log.log(logging.ERROR if level == st.ERROR else logging.WARNING if level == st.WARNING else logging.INFO,
                "notice: %s", text)
        self.notice.emit(level, text, action)

    # ------------------------------------------------------------------ settings

    def load_settings(self) -> None:
        from qwenvoice.settings.store import SettingsStore

        self._store = SettingsStore(self.options.config_dir) if self.options.config_dir else SettingsStore()
        result = self._store.load()
        self.settings = result.settings
        for notice in result.notices:
            self._say(st.WARNING, f"Settings: {notice}", st.ACTION_OPEN_SETTINGS)
        if self.options.mode is None:
            self.mode = self.settings.ui.turn_mode
        self._volume = self.settings.audio.output_volume / 100.0

    def key_store(self) -> Any:
        if self._key_store is None:
            from qwenvoice.settings.secrets import ApiKeyStore

            self._key_store = ApiKeyStore(config_dir=self._store.config_dir)
        return self._key_store

    def _lookup_key(self) -> str | None:
        try:
            key: str | None = self.key_store().get()
            return key
        except Exception as exc:  # a broken keyring must not stop the app; env still works
            log.warning("API key lookup failed: %s", exc)
            return os.environ.get("DASHSCOPE_API_KEY") or None

    def apply_settings(self, settings: Any) -> None:
        """New settings from the settings panel: save them, then update the live session in place or
        reconnect when the server refuses that change mid-session (endpoint, model, a voice that has
        already spoken)."""
        from qwenvoice.settings.changes import diff

        old = self.settings
        self.settings = settings
        if self._store is not None:
            try:
                self._store.save(settings)
            except Exception as exc:
                self._say(st.ERROR, f"Settings could not be saved: {exc}", st.ACTION_OPEN_SETTINGS)
        self.settings_changed.emit(settings)
        if old is None:
            return
        change = diff(old, settings, omni_audio_produced=bool(self._received_ms))
        self.set_volume(settings.audio.output_volume / 100.0)
        mode_switched = old.ui.turn_mode != settings.ui.turn_mode and settings.ui.turn_mode != self.mode
        if mode_switched:
            self.set_mode(settings.ui.turn_mode)  # sends the session update too
        fixed_endpoint = bool(self.options.url or self.options.offline)
        if change.omni_needs_reconnect and not (fixed_endpoint and change.omni_reconnect_reasons == (
                "the server changed",)):
            self._say(st.INFO, "Reconnecting: " + "; ".join(change.omni_reconnect_reasons) + ".")
            self.reconnect()
        elif change.omni_session_changed and not mode_switched:
            self._send_session_update()
        if self.echo is not None:
            self.echo.configure(settings.audio)  # live: the streams keep running
        if change.audio_changed and self.audio is not None and (
            old.audio.input_device != settings.audio.input_device
            or old.audio.output_device != settings.audio.output_device
        ):
            self._spawn(self._restart_audio(), "qwenvoice-audio-restart")

    async def _restart_audio(self) -> None:
        await self._stop_audio()
        await self._start_audio()

    # ----- what the settings panel asks of the running app (qwenvoice.settings.services) -----

    def play_test_tone(self, output_device: str | None, volume_percent: int) -> None:
        """Half a second of 440 Hz at the chosen volume through the player (the current output)."""
        t = np.arange(int(0.5 * ASSISTANT_RATE)) / ASSISTANT_RATE
        fade = np.minimum(1.0, np.minimum(t, t[::-1]) / 0.02)
        tone = (np.sin(2 * np.pi * 440.0 * t) * fade * 0.4 * max(0, min(100, volume_percent)) / 100 * 32767)
        rid = f"test-tone-{time.monotonic_ns()}"
        self._tts_response_ids.add(rid)  # not a conversation turn: no latency sample
        self._play(rid, rid, tone.astype(np.int16).tobytes())
        self._end_of_response_audio(rid)

    def start_mic_monitor(self, input_device: str | None) -> None:
        """The level meter always follows the running microphone; nothing extra to open."""

    def stop_mic_monitor(self) -> None:
        """See start_mic_monitor."""

    async def test_connection(self, url: str | None, model: str, api_key: str | None) -> Any:
        """Open a session with these values and report how it went (never raises)."""
        from qwenvoice.net.backoff import ReconnectPolicy
        from qwenvoice.net.client import ConnectOptions, RealtimeClient
        from qwenvoice.settings.services import ConnectionCheck

        try:
            if url is None:
                url = await self._ensure_server()
                api_key = self.server.token if self.server else None
            elif api_key is None:
                api_key = self._lookup_key()
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

    async def preview_voice(self, model: str, tts: Any, text: str) -> None:
        """Speak ``text`` with these TTS settings (raises with a user-facing message on failure)."""
        await self.stop_speaking_async()
        task = self._spawn(self._speak(text, tts.mode, tts=tts, model=model), "qwenvoice-tts-preview")
        self._tts_task = task
        failed = await task
        if failed:
            raise RuntimeError(failed)

    # ------------------------------------------------------------------ start / stop

    async def start(self) -> None:
        """Load settings, start the offline server if needed, connect, open the audio devices."""
        if self._started:
            return
        self._started = True
        if self.settings is None:
            self.load_settings()
        self.mode_changed.emit(self.mode)
        self.new_conversation()
        self._machine_tick = self._spawn(self._tick_machine(), "qwenvoice-session-deadlines")
        if self.options.audio:
            await self._start_audio()
        await self._connect()

    def _choose_endpoint(self) -> tuple[str | None, str | None, str, bool]:
        """(url, key, region label, offline?) for this run; url None = start the offline server."""
        conn = self.settings.connection
        if self.options.url:
            return self.options.url, self._lookup_key(), "custom", False
        if self.options.offline or conn.region == "offline":
            return None, None, "offline", True
        key = self._lookup_key()
        if not key:
            return None, None, "offline", True
        return conn.endpoint_url(), key, conn.region, False

    async def _connect(self) -> None:
        from qwenvoice.net.client import RealtimeClient
        from qwenvoice.net.errors import FatalConnectionError

        url, key, region, offline = self._choose_endpoint()
        self.model = self.options.model or self.settings.connection.omni_model
        self.metrics.model, self.metrics.region = self.model, region
        if offline:
            self._set_connection(state=st.STARTING_SERVER, model=self.model, region=region, offline=True, detail="")
            reason = "" if (self.options.offline or self.settings.connection.region == "offline") else (
                " No API key was found (keyring or DASHSCOPE_API_KEY)."
            )
            self._say(st.INFO, OFFLINE_BANNER + reason, st.ACTION_ADD_KEY)
            try:
                url = await self._ensure_server()
            except OfflineServerError as exc:
                self._set_connection(state=st.FAILED, detail=str(exc))
                self._say(st.ERROR, f"The offline server could not start: {exc}", st.ACTION_RECONNECT)
                return
            key = self.server.token if self.server else None
        assert url is not None
        self.url, self.api_key = url, key
        self._set_connection(state=st.CONNECTING, model=self.model, region=region, url=url, offline=offline,
                             detail="", retry_at=None)
        try:
            self.client = RealtimeClient(url, key, model=self.model, session_update=self._session_update_event,
                                         renewal_update=self._renewal_update_event,
                                         options=self.options.connect_options)
        except Exception as exc:  # a refused URL (e.g. ws:// to a remote host)
            self._set_connection(state=st.FAILED, detail=str(exc))
            self._say(st.ERROR, f"Cannot use this endpoint: {exc}", st.ACTION_OPEN_SETTINGS)
            return
        client = self.client
        self._consumer = self._spawn(self._consume(client), "qwenvoice-session-consumer")
        try:
            await client.start()
        except FatalConnectionError as exc:
            # The consumer reports the FAILED status with what to do.
            log.info("connect failed: %s", exc)
        except Exception as exc:
            self._set_connection(state=st.FAILED, detail=str(exc))
            self._say(st.ERROR, f"Could not connect: {exc}", st.ACTION_RECONNECT)

    async def _ensure_server(self) -> str:
        if self.server is not None and self.server.running and self.server.url:
            return self.server.url
        if self.server is not None:
            await self.server.stop()
        self.server = OfflineServer(log_file=self._log_dir() / "offline-server.log",
                                    start_timeout=self.options.server_start_timeout)
        return await self.server.start()

    def _log_dir(self) -> Path:
        try:
            import platformdirs

            return Path(platformdirs.user_log_dir("qwenvoice", appauthor=False))
        except Exception:
            return self.data_root / "logs"

    def reconnect(self) -> None:
        """Drop the current connection and connect again (also after settings changed)."""
        if self._shutting_down:
            return

        async def again() -> None:
            await self._disconnect()
            await self._connect()

        self._spawn(again(), "qwenvoice-reconnect")

    async def _disconnect(self) -> None:
        client, self.client = self.client, None
        self._session_ready = False
        self._end_response_state()
        if client is not None:
            with contextlib.suppress(Exception):
                await client.close()
        consumer, self._consumer = self._consumer, None
        if consumer is not None and not consumer.done():
            consumer.cancel()
            with contextlib.suppress(BaseException):
                await consumer

    async def shutdown(self) -> None:
        """Close the session, stop the audio streams and the offline server; leaves nothing running."""
        if self._shutting_down:
            return
        self._shutting_down = True
        if self._machine_tick is not None:
            self._machine_tick.cancel()
        self._cancel_talk_tail()
        # Every step is bounded: a step that hangs (a device that never closes, a lost cancellation)
        # must not keep the window from closing or leave the offline server running.
        try:
            await _bounded("stopping speech playback", self.stop_speaking_async(), 5.0)
            await _bounded("closing the session", self._disconnect(), 8.0)
            await _bounded("stopping audio", self._stop_audio(), 8.0)
        finally:
            if self.server is not None:
                await _bounded("stopping the offline server", self.server.stop(), 15.0)
            others = [t for t in self._tasks if t is not asyncio.current_task()]
            for task in others:
                task.cancel()
            if others:
                _done, pending = await asyncio.wait(others, timeout=3.0)
                if pending:
                    log.warning("%d task(s) did not stop during shutdown", len(pending))
            self.conversation.close()
        self._set_connection(state=st.DISCONNECTED, detail="closed")

    # ------------------------------------------------------------------ audio

    async def _start_audio(self) -> None:
        try:
            from qwenvoice.audio.engine import AudioEngine
        except Exception as exc:  # no PortAudio at all: text still works
            self._say(st.ERROR, f"Audio is not available: {exc}. Typing still works.", st.ACTION_AUDIO_SETTINGS)
            return
        a = self.settings.audio
        engine = AudioEngine(a.input_device, a.output_device, on_notice=self._on_audio_notice)
        engine.capture.gate.continuous = self.mode == "vad"
        engine.capture.subscribe_all(self._mic_block)
        engine.capture.subscribe(self._send_mic)
        engine.player.subscribe_played(self._played_block)
        engine.player.on_item_started.append(self._on_item_started)
        engine.player.volume = self._volume
        self.audio = engine
        from qwenvoice.app.echo_control import EchoControl

        self.echo = EchoControl(a, on_notice=lambda text: self._say(st.WARNING, text, st.ACTION_AUDIO_SETTINGS))
        self.echo.attach(engine)
        playing = await engine.start_playback()
        capturing = await engine.start_capture()
        if not (playing or capturing):
            self._say(st.ERROR, "No sound devices could be opened. Check them in Settings → Audio; typing "
                      "still works.", st.ACTION_AUDIO_SETTINGS)

    def _on_audio_notice(self, notice: Any) -> None:
        level = st.ERROR if notice.error else st.INFO
        where = "Microphone" if notice.kind == "input" else "Speaker"
        action = st.ACTION_AUDIO_SETTINGS if notice.error else st.ACTION_NONE
        self._say(level, f"{where}: {notice.message}", action)

    async def _stop_audio(self) -> None:
        engine, self.audio = self.audio, None
        echo, self.echo = self.echo, None
        if echo is not None:
            echo.close()
        if engine is not None:
            try:
                await engine.aclose()
            except Exception:
                log.exception("stopping audio failed")

    def _mic_block(self, pcm: np.ndarray) -> None:
        """Every captured block (int16, 16 kHz mono): the waveform and the level meter."""
        self.mic_blocks += 1
        self.mic_ring.write(pcm)

    def _send_mic(self, pcm: np.ndarray) -> None:
        """Captured audio that passed the gate (always in VAD mode, while held in push-to-talk)."""
        if not (self._session_ready and self.client is not None):
            return  # audio from an outage is never queued for later
        held = self.talking or self._talk_tail is not None  # the release tail still sends
        if self.mode == "ptt" and not held:
            return
        if self.session is None:
            return
        data = pcm.tobytes()
        events = self.session.append_audio(data)
        if not events and not self.session.ready:
            # Before session.updated the machine would drop it; the client already holds every queued
            # event until the session has taken its settings, so nothing is sent under old settings.
            events = [ev.InputAudioBufferAppend(audio=data)]
        self.capture_clock.sent(len(pcm))
        if held:
            self._ptt_samples += len(pcm)
        self.conversation.append_user_audio(data)
        self._send_all(events)

    def feed_mic(self, pcm: np.ndarray | bytes) -> None:
        """A captured block from elsewhere than the engine (runs without sound devices)."""
        block = np.frombuffer(pcm, dtype=np.int16) if isinstance(pcm, bytes | bytearray) else pcm
        self._mic_block(block)
        if self.mode == "vad" or self.talking:
            self._send_mic(block)

    def _played_block(self, pcm: np.ndarray) -> None:
        """What actually went to the speaker (16 kHz), so the assistant lane lines up with the sound."""
        self.assistant_ring.write(pcm)

    def _on_item_started(self, event: Any) -> None:
        if event.response_id in self._tts_response_ids:
            return
        latency = self.metrics.first_sample_played(event.at)
        if latency is not None:
            log.info("turn latency at the speaker: %.0f ms", latency * 1000)
            self.metrics_updated.emit()

    def set_volume(self, volume: float) -> None:
        self._volume = max(0.0, min(1.0, volume))
        if self.audio is not None:
            self.audio.player.volume = self._volume

    def mic_level_dbfs(self) -> float:
        return self.mic_ring.level_dbfs(0.05)

    def playback_status(self) -> st.PlaybackStatus:
        if self.audio is None:
            return st.PlaybackStatus(volume=self._volume, dropped_deltas=self.dropped_late_deltas)
        m = self.audio.player.metrics()
        state = m.state
        if state == "idle" and self._flushed_at > time.monotonic() - 1.5:
            state = st.FLUSHED
        return st.PlaybackStatus(
            state=state,
            depth_ms=m.buffered_ms,
            target_ms=m.target_ms,
            underruns=m.underruns,
            volume=self._volume,
            played_ms=m.played_ms_total,
            dropped_deltas=self.dropped_late_deltas + m.dropped_stale_chunks,
        )

    def _play(self, response_id: str, item_id: str, pcm: bytes, rate: int = ASSISTANT_RATE) -> None:
        if self.audio is None or self.audio.player.buffer is None:
            # No speaker: still show the reply on the assistant lane (16 kHz, nearest sample).
            samples = np.frombuffer(pcm, dtype=np.int16)
            step = rate / USER_RATE
            self.assistant_ring.write(samples[(np.arange(int(len(samples) / step)) * step).astype(np.int64)])
            return
        player = self.audio.player
        if player.source_rate != rate:
            player.source_rate = rate
        player.push(pcm, response_id, item_id or response_id)

    def _end_of_response_audio(self, response_id: str) -> None:
        if self.audio is not None:
            self.audio.player.end_of_response(response_id)

    def _flush_playback(self, cancel_response_id: str | None) -> float | None:
        """Silence the speaker now; returns ms of the cut response that were played (if known)."""
        self.assistant_ring.clear_ahead()
        self._flushed_at = time.monotonic()
        if self.audio is None:
            return None
        report = self.audio.player.flush(cancel_response_id)
        return float(report.played_ms) if report.response_id == cancel_response_id else None

    # ------------------------------------------------------------------ session

    def _session_config(self) -> Any:
        return self.settings.omni.to_config(self.model or self.settings.connection.omni_model, self.mode)

    def _start_session_machine(self, cfg: Any) -> ev.SessionUpdate:
        """Every connection is a new session on the server: a fresh state machine, configured."""
        from qwenvoice.protocol.omni import OmniConversation

        machine = OmniConversation(self.model)
        self.session = machine
        update = machine.configure(cfg)[0]
        assert isinstance(update, ev.SessionUpdate)
        payload, size = event_payload(update)
        self.eventlog.add(OUT, payload, size=size)
        return update

    def _session_update_event(self) -> ev.SessionUpdate | None:
        """Called by the client on every (re)connect, right before it sends the update."""
        try:
            return self._start_session_machine(self._session_config())
        except Exception as exc:
            self._say(st.ERROR, f"The session settings are not valid: {exc}", st.ACTION_OPEN_SETTINGS)
            return None

    def _renewal_update_event(self) -> ev.SessionUpdate | None:
        """For a session that continues this one (renewed before the service's time limit, or opened
        after a drop): the same settings, with a short summary of the conversation in the instructions."""
        from qwenvoice.app.summary import session_with_summary
        from qwenvoice.protocol.config import OmniSessionConfig

        try:
            session = session_with_summary(self._session_config().to_session(self.model), self.conversation.turns)
            previous = self.session  # None after a drop; the live session's machine for a renewal
            update = self._start_session_machine(OmniSessionConfig.from_session(session, self.model))
            self._session_before_renewal = previous
            return update
        except Exception:
            return self._session_update_event()  # reports what is wrong with the settings

    def _send_session_update(self) -> None:
        """A live change (turn mode, settings): the whole session again, on the same connection."""
        if self.client is None or self.session is None:
            return
        try:
            self._send_all(self.session.configure(self._session_config()))
        except Exception as exc:
            self._say(st.ERROR, f"The session settings are not valid: {exc}", st.ACTION_OPEN_SETTINGS)

    def _send(self, event: Any) -> None:
        client = self.client
        if client is None:
            return
        payload, size = event_payload(event)
        self.eventlog.add(OUT, payload, size=size)
        client.send(event)

    def _send_all(self, events: list[Any]) -> None:
        for event in events:
            self._send(event)

    async def _tick_machine(self) -> None:
        # On the asyncio loop (not a Qt timer), so it only runs while the loop does.
        while True:
            await asyncio.sleep(0.1)
            self._machine_timer()

    def _machine_timer(self) -> None:
        """The state machine's own deadlines (a create waiting for a transcript, a cancel's grace)."""
        machine = self.session
        if machine is None:
            return
        deadline = machine.next_deadline()
        if deadline is not None and time.monotonic() >= deadline:
            for note in machine.on_timer():
                self._on_note(note)

    def _connection_lost(self) -> None:
        machine, self.session = self.session, None
        if machine is not None:
            for note in machine.connection_lost():
                self._on_note(note)

    async def _consume(self, client: Any) -> None:
        from qwenvoice.net.client import ConnectionStatus

        async for item in client.incoming():
            if client is not self.client:
                break
            try:
                if isinstance(item, ConnectionStatus):
                    self._on_status(item)
                else:
                    payload, size = event_payload(item)
                    record = self.eventlog.add(IN, payload, size=size)
                    self.conversation.log_event_line(record.to_json())
                    self._on_event(item)
            except Exception:
                log.exception("handling %r failed", type(item).__name__)

    def _on_status(self, s: Any) -> None:
        from qwenvoice.net.client import RENEWAL_FAILED, ConnectionState

        if s.state is ConnectionState.CONNECTED:
            if s.reason == RENEWAL_FAILED and self._session_before_renewal is not None:
                self.session = self._session_before_renewal  # the old session carries on
            self._session_before_renewal = None
            self._session_ready = True
            self._set_connection(state=st.READY, detail="", retry_at=None)
        elif s.state is ConnectionState.RENEWING:  # a fresh session before the time limit; still talking
            self._set_connection(detail="renewing the session")
        elif s.state is ConnectionState.CONNECTING:
            self._set_connection(state=st.CONNECTING, detail="")
        elif s.state is ConnectionState.RECONNECTING:
            self._session_ready = False
            self._connection_lost()  # a partial reply is kept, marked as cut off
            self._end_response_state()
            self._flush_playback(None)
            self._set_connection(state=st.RECONNECTING, detail=s.reason, retry_at=time.monotonic() + s.delay)
            if s.attempt <= 1:
                self._say(st.WARNING, f"Connection lost ({s.reason}). Reconnecting; what you say meanwhile is "
                          "not sent.")
        elif s.state is ConnectionState.FAILED:
            self._session_ready = False
            self._connection_lost()
            self._end_response_state()
            self._set_connection(state=st.FAILED, detail=s.reason, retry_at=None)
            self._say(st.ERROR, f"Connection failed: {s.reason}. {self._failure_advice(s)}", self._failure_action(s))
        elif s.state is ConnectionState.CLOSED:
            self._session_ready = False
            self._connection_lost()
            self._end_response_state()
            if not self._shutting_down:
                self._set_connection(state=st.DISCONNECTED, detail=s.reason, retry_at=None)
                self._say(st.WARNING, f"Disconnected: {s.reason}.", st.ACTION_RECONNECT)

    def _failure_advice(self, s: Any) -> str:
        kind = str(getattr(getattr(s, "error", None), "kind", "")).lower()
        if "auth" in kind or s.code in (401, 403) or "401" in s.reason or "403" in s.reason:
            return "Check the API key and that it belongs to the chosen region (Settings → Connection)."
        if "config" in kind:
            return "Check the session settings."
        return "Check your network, then press Reconnect."

    def _failure_action(self, s: Any) -> str:
        advice = self._failure_advice(s)
        return st.ACTION_RECONNECT if advice.startswith("Check your network") else st.ACTION_OPEN_SETTINGS

    # ----- server events -----

    def _on_event(self, e: Any) -> None:
        machine = self.session
        if machine is None:
            return
        for note in machine.receive(e):
            self._on_note(note)

    def _on_note(self, n: Any) -> None:  # noqa: C901 - one dispatch on the notification type
        """What the Omni state machine reports, turned into turns, audio, metrics and notices."""
        from qwenvoice.protocol import notifications as nt

        if isinstance(n, nt.SendEvents):
            self._send_all(n.events)
        elif isinstance(n, nt.UserSpeechStarted):
            if n.interrupted_response_id is not None:
                self._cut(n.interrupted_response_id)  # the machine has sent (or will send) the cancel
            elif self._playing():
                self._cut_playing_tail()
            self._turn(self.conversation.user_speech(n.item_id))
        elif isinstance(n, nt.UserSpeechStopped):
            t = self.capture_clock.time_of_ms(n.audio_end_ms)
            self.metrics.speech_ended(t if t is not None else time.monotonic())
        elif isinstance(n, nt.TurnCommitted):
            self._turn(self.conversation.user_speech(n.item_id))
        elif isinstance(n, nt.TranscriptDelta):
            self._on_transcript(n)
        elif isinstance(n, nt.TranscriptionFailed):
            self._say(st.WARNING, "Your words could not be transcribed for this turn.")
        elif isinstance(n, nt.ResponseStarted):
            self._active_response = n.response_id
            self._received_ms[n.response_id] = 0.0
            if not self.response_active:
                self.response_active = True
                self.response_active_changed.emit(True)
            self._turn(self.conversation.assistant_started(n.response_id))
        elif isinstance(n, nt.AudioChunk):
            if n.response_id in self._cancelled:
                self._dropped_here += 1
                return
            pcm = n.pcm[: len(n.pcm) // 2 * 2]  # a torn sample (odd byte count) is not playable
            if not pcm:
                return
            self._received_ms[n.response_id] = self._received_ms.get(n.response_id, 0.0) + len(pcm) / 48.0
            self.conversation.append_assistant_audio(pcm)
            self._play(n.response_id, n.item_id, pcm)
        elif isinstance(n, nt.AudioDone):
            if n.response_id not in self._cancelled:
                self._end_of_response_audio(n.response_id)
        elif isinstance(n, nt.ResponseFinished):
            rid = n.response_id
            self.metrics.usage.add(n.usage)
            if n.interrupted and rid not in self._cancelled:
                self._cut(rid)  # ended under us (connection lost, or the server cut it)
            self._turn_opt(self.conversation.assistant_done(rid))
            if rid == self._active_response:
                self._end_response_state()
            if self._retry_create and self.session is not None and self.session.active_response_id is None:
                self._retry_create = False
                self._send_all(self.session.create_response())
            self.metrics_updated.emit()
        elif isinstance(n, nt.ProtocolErrorNotice):
            self._on_error(n.error, n.request_type)
        elif isinstance(n, nt.SessionClosed):
            if n.reason == "finished" and not self._shutting_down:
                # The server ended the session but left the connection open: nothing more would be
                # answered on it, so say so and start a new one.
                self._say(st.WARNING, "The server ended the session; starting a new one.")
                self.reconnect()
        elif isinstance(n, nt.FunctionCallRequested):
            self._say(st.INFO, f"The model asked for a tool ({n.name}); this app does not offer tools yet.")

    def _on_transcript(self, n: Any) -> None:
        if n.role == "user":
            self._turn(self.conversation.user_transcript(n.item_id, n.text, final=n.final))
            return
        rid = n.response_id or n.item_id
        if rid in self._cancelled:
            return
        if n.final:
            self._turn_opt(self.conversation.assistant_done(rid, n.text))
        elif n.replace:
            self._turn(self.conversation.assistant_set(rid, n.text, n.item_id))
        else:
            self._turn(self.conversation.assistant_delta(rid, n.text, n.item_id))

    def _on_error(self, err: Any, request_type: str | None = None) -> None:
        text = err.message or err.code or err.type or "no details were given"
        if err.param:
            text += f" (setting: {err.param})"
        lowered = (err.message or "").lower()
        if "active response" in lowered and request_type in (None, "response.create"):
            # A reply asked for right after a cut-in raced the cancel: ask again once that reply ends.
            self._retry_create = True
            log.info("response.create raced a cancel; retrying after response.done")
            return
        if "cancel" in lowered and ("no active" in lowered or "not" in lowered and "response" in lowered):
            log.info("harmless: %s", text)  # a cancel that raced with the end of the response
            return
        if err.type == "malformed_event":
            log.info("malformed event from the server: %s", text)
            return
        action = st.ACTION_OPEN_SETTINGS if err.param or err.type == "invalid_request_error" else st.ACTION_NONE
        advice = " Check this setting in Settings." if err.param else ""
        self._say(st.ERROR, f"The server reported an error: {text}.{advice}", action)

    def _turn(self, index: int) -> None:
        self.turn_changed.emit(index)

    def _turn_opt(self, index: int | None) -> None:
        if index is not None:
            self.turn_changed.emit(index)

    def _playing(self) -> bool:
        if self.audio is None or self.audio.player.buffer is None:
            return self.assistant_ring.head > self.assistant_ring.position_now()
        return not self.audio.player.is_idle()

    def _end_response_state(self) -> None:
        self._active_response = None
        if self.response_active:
            self.response_active = False
            self.response_active_changed.emit(False)

    def _barge_in(self) -> None:
        """Stop playback at once, cancel the active response, mark where the user cut in."""
        machine = self.session
        rid = machine.active_response_id if machine is not None else None
        was_playing = self._playing()
        events = machine.cancel() if machine is not None else []
        if rid is not None:
            self._cut(rid)
        elif was_playing:
            self._cut_playing_tail()
        else:
            self._flush_playback(None)
        self._send_all(events)
        if self.echo is not None:
            self.echo.barge_in()  # half duplex: the user's button/key opens the mic at once

    def _cut(self, rid: str) -> None:
        """Response ``rid`` was interrupted: silence it, drop its late audio, keep what was heard."""
        played_ms = self._flush_playback(rid)
        self._cancelled.add(rid)
        index = self.conversation.index_of_response(rid)
        if index is not None:
            self.conversation.mark_interrupted(rid)
            turn = self.conversation.turns[index]
            received = self._received_ms.get(rid, 0.0)
            if played_ms is not None and received > 0:
                # The text streams ahead of the audio: keep roughly the share that was heard.
                share = max(0.0, min(1.0, played_ms / received))
                turn.heard_chars = int(len(turn.text) * share)
            self._turn(index)
        if rid == self._active_response:
            self._end_response_state()

    def _cut_playing_tail(self) -> None:
        """The server had finished the reply but its audio was still playing: that reply was cut."""
        self._flush_playback(None)
        for index in range(len(self.conversation.turns) - 1, -1, -1):
            turn = self.conversation.turns[index]
            if turn.role == "assistant" and turn.response_id in self._received_ms:
                self.conversation.mark_interrupted(turn.response_id)
                self._turn(index)
                break

    # ------------------------------------------------------------------ user actions

    def set_mode(self, mode: str) -> None:
        if mode not in ("vad", "ptt"):
            return
        if (self.talking or self._talk_tail is not None) and mode == "vad":
            self._cancel_talk_tail()
            if self.audio is not None:
                self.audio.capture.release()
            self._set_talking(False)
        changed = mode != self.mode
        self.mode = mode
        if self.audio is not None:
            self.audio.capture.gate.continuous = mode == "vad"
        if self.settings is not None and self.settings.ui.turn_mode != mode:
            self.settings.ui.turn_mode = mode
            if self._store is not None and self.options.mode is None:
                with contextlib.suppress(Exception):
                    self._store.save(self.settings)
        if changed:
            self._send_session_update()  # live: turn detection on or off
        self.mode_changed.emit(mode)

    def _set_talking(self, talking: bool) -> None:
        if talking != self.talking:
            self.talking = talking
            self.talking_changed.emit(talking)

    def press_talk(self) -> None:
        """Talk button / Space pressed: cut any reply; in push-to-talk, start sending the microphone."""
        if self.response_active or self._playing():
            self._barge_in()
        if self.mode != "ptt":
            return
        if not self._session_ready:
            self._say(st.WARNING, "Not connected yet: wait for “ready” in the status bar.")
            return
        if self._cancel_talk_tail():
            # Down again within the release tail: the same turn goes on (a bounce, or a pause to think).
            self._set_talking(True)
            return
        self._ptt_samples = 0
        if self.session is not None:
            self._send_all(self.session.clear_audio())
        self._set_talking(True)
        if self.audio is not None:
            self.audio.capture.press()  # sends the pre-roll (the first syllable) right away

    def release_talk(self) -> None:
        """Talk released: commit the turn and ask for a reply (push-to-talk).

        The microphone stays open for a short tail: people let go as the last word ends, and that
        word is still on its way from the device (block, device latency, the loop) when the key rises.
        """
        if not self.talking:
            return
        self._set_talking(False)
        self.metrics.speech_ended(time.monotonic())
        if self.audio is None or self.session is None:
            self._finish_talk()
            return
        self._cancel_talk_tail()
        self._talk_tail = asyncio.get_event_loop().call_later(PTT_RELEASE_TAIL_S, self._finish_talk)

    def _cancel_talk_tail(self) -> bool:
        """Drop a pending release tail (its turn is not committed); True when there was one."""
        if self._talk_tail is None:
            return False
        self._talk_tail.cancel()
        self._talk_tail = None
        return True

    def _finish_talk(self) -> None:
        self._talk_tail = None
        if self.audio is not None:
            self.audio.capture.release()
        if self.session is None:
            return
        if self._ptt_samples < USER_RATE // 10:
            self._say(st.INFO, "That was too short to send: hold the button (or Space) while you speak.")
            self._send_all(self.session.clear_audio())
            return
        # The machine sends response.create once the server has the committed item (see protocol.omni).
        self._send_all(self.session.commit_turn())

    def stop(self) -> None:
        """Stop button / Esc: silence the reply now and cancel it."""
        if self.talking or self._cancel_talk_tail():
            if self.audio is not None:
                self.audio.capture.release()
            self._set_talking(False)
            if self.session is not None:
                self._send_all(self.session.clear_audio())
        self._barge_in()

    def send_text(self, text: str) -> None:
        text = text.strip()
        if not text:
            return
        if not self._session_ready or self.session is None:
            self._say(st.WARNING, "Not connected: the message was not sent.", st.ACTION_RECONNECT)
            return
        if self.response_active or self._playing():
            self._barge_in()
        self._turn(self.conversation.user_text(text))
        self.metrics.speech_ended(time.monotonic())
        self._send_all(self.session.send_text(text))

    def new_conversation(self) -> None:
        self.conversation.close()
        try:
            self.conversation = Conversation.create(self.data_root)
        except OSError as exc:
            self._say(st.ERROR, f"Conversations cannot be saved ({exc}); this one is kept in memory only.")
            self.conversation = Conversation(None)
        self._received_ms.clear()
        self.conversation_reset.emit()

    # ------------------------------------------------------------------ speech studio (TTS)

    def tts_description(self) -> str:
        if self.settings is None:
            return ""
        t = self.settings.tts
        return f"voice {t.voice} · {t.language_type} · {self.settings.connection.tts_model}"

    def speech_duration_s(self) -> float:
        return sum(len(b) for b in self._tts_audio) / 2 / self._tts_rate

    def speak(self, text: str, mode: str = "server_commit") -> None:
        if self._tts_task is not None and not self._tts_task.done():
            self._say(st.INFO, "Already speaking: stop it first.")
            return
        self._tts_task = self._spawn(self._speak(text, mode), "qwenvoice-tts")

    async def _tts_endpoint(self, model: str | None = None) -> tuple[str, str | None, str]:
        model = model or self.settings.connection.tts_model
        if self.connection.offline or self.url is None:
            url = await self._ensure_server()
            return url, self.server.token if self.server else None, model
        if self.options.url:
            return self.options.url, self.api_key, model
        return self.settings.connection.endpoint_url() or self.url, self.api_key, model

    async def _speak(self, text: str, mode: str, tts: Any = None, model: str | None = None) -> str:
        """Synthesize ``text`` and play it as it streams; returns "" or what went wrong.

        The protocol is the sans-I/O ``TtsSession``'s: it builds the client events and turns the
        server's into notifications; this method only moves them between it, the socket and the player.
        """
        from qwenvoice.net.client import ConnectionStatus, RealtimeClient
        from qwenvoice.protocol import notifications as nt
        from qwenvoice.protocol.tts import TtsSession

        self._tts_audio = []
        self._tts_response_ids = set()
        segments = split_sentences(text) or [text]
        expected = len(segments)
        done = 0
        self.tts_progress.emit(0, expected)
        self.tts_state_changed.emit("connecting", "")
        try:
            url, key, model = await self._tts_endpoint(model)
            cfg = (tts or self.settings.tts).to_config(model)
            cfg = dataclasses.replace(cfg, mode=mode, response_format="pcm")
            self._tts_rate = cfg.sample_rate
            machine = TtsSession(model)
            update = next(e for e in machine.configure(cfg) if isinstance(e, ev.SessionUpdate))
            client = RealtimeClient(url, key, model=model, session_update=lambda: update)
            self._tts_client = client
            await client.start()
            payload, size = event_payload(update)  # the client sent it on connecting: show it too
            self.eventlog.add(OUT, payload, size=size)
        except Exception as exc:
            self.tts_state_changed.emit("failed", str(exc))
            self._say(st.ERROR, f"Speech studio could not connect: {exc}", st.ACTION_OPEN_SETTINGS)
            return f"could not connect: {exc}"
        self.tts_state_changed.emit("speaking", "")

        def send(events: list[Any]) -> None:
            for event in events:
                payload, size = event_payload(event)
                self.eventlog.add(OUT, payload, size=size)
                client.send(event)

        for seg in segments:
            if mode == "commit":
                send(machine.append_text(seg))
                send(machine.commit())  # one response per segment
            else:
                send(machine.append_text(seg + " "))  # the server decides where to cut
        send(machine.finish())
        failed = ""
        try:
            async for item in client.incoming():
                if isinstance(item, ConnectionStatus):
                    if item.terminal:
                        if item.state.value == "failed":
                            failed = item.reason
                        break
                    continue
                payload, size = event_payload(item)
                self.eventlog.add(IN, payload, size=size)
                closed = False
                for note in machine.receive(item):
                    if isinstance(note, nt.ResponseStarted):
                        self._tts_response_ids.add(note.response_id)
                    elif isinstance(note, nt.AudioChunk):
                        self._tts_response_ids.add(note.response_id)
                        self._tts_audio.append(note.pcm)
                        self._play(note.response_id, note.item_id or "tts", note.pcm, rate=self._tts_rate)
                    elif isinstance(note, nt.AudioDone):
                        self._end_of_response_audio(note.response_id)
                    elif isinstance(note, nt.ResponseFinished) and not note.interrupted:
                        done += 1
                        expected = max(expected, done)
                        self.tts_progress.emit(done, expected)
                    elif isinstance(note, nt.ProtocolErrorNotice):
                        failed = note.error.message
                        self._say(st.ERROR, f"Speech studio: {note.error.message}", st.ACTION_OPEN_SETTINGS)
                    elif isinstance(note, nt.SendEvents):
                        send(note.events)
                    elif isinstance(note, nt.SessionClosed):
                        closed = True
                if closed:
                    break
        finally:
            self._tts_client = None
            with contextlib.suppress(Exception):
                await client.close()
        self.tts_progress.emit(expected if not failed else done, expected)
        self.tts_state_changed.emit("failed" if failed else "done", failed or f"{self.speech_duration_s():.1f} s")
        return failed

    def stop_speaking(self) -> None:
        self._spawn(self.stop_speaking_async(), "qwenvoice-tts-stop")

    async def stop_speaking_async(self) -> None:
        task = self._tts_task
        if task is None or task.done():
            return
        for rid in list(self._tts_response_ids):
            self._flush_playback(rid)
        self._flush_playback(None)
        task.cancel()
        with contextlib.suppress(BaseException):
            await task
        client, self._tts_client = self._tts_client, None
        if client is not None:
            with contextlib.suppress(Exception):
                await client.close()
        self.tts_state_changed.emit("stopped", f"{self.speech_duration_s():.1f} s")

    def save_speech(self, path: Path) -> Path:
        write_wav(path, b"".join(self._tts_audio), self._tts_rate)
        self._say(st.INFO, f"Saved {self.speech_duration_s():.1f} s of speech to {path}")
        return path

    # ------------------------------------------------------------------ settings panel interface

    def echo_state(self) -> Any:
        """The capture path's echo handling now (None while no audio runs)."""
        return self.echo.state() if self.echo is not None else None

    async def run_echo_self_test(self, input_device: Any = ..., output_device: Any = ..., *,
                                 apply: bool = False) -> Any:
        """Pause the app's streams, play a probe and measure the echo, reopen them (``...``: the saved
        devices). With ``apply``, take the recommended audio settings. Returns an EchoTestReport."""
        from qwenvoice.app.echo_control import recommended_settings, run_self_test
        from qwenvoice.settings.services import EchoTestReport

        if self._echo_testing:
            return EchoTestReport(ok=False, summary="The echo self-test is already running.")
        audio = self.settings.audio
        backend = self.echo.backend if self.echo is not None else "auto"
        self._echo_testing = True
        engine = self.audio
        try:
            if engine is not None:  # pause the streams: the probe must not reach the conversation
                self._flush_playback(None)
                await asyncio.gather(engine.capture.aclose(), engine.player.aclose())
            report = await run_self_test(audio.input_device if input_device is ... else input_device,
                                         audio.output_device if output_device is ... else output_device,
                                         backend=backend)
        finally:
            self._echo_testing = False
            if engine is not None and engine is self.audio and not self._shutting_down:
                await engine.start_playback()
                await engine.start_capture()
                if self.echo is not None:
                    self.echo.restart()  # new streams: the played and captured counters start again
        if apply and report.ok:
            settings = self.settings.copy()
            settings.audio = recommended_settings(settings.audio, report)
            if settings != self.settings:
                self.apply_settings(settings)
        return report

    def device_lists(self) -> tuple[list[Any], list[Any]]:
        from qwenvoice.audio.devices import safe_list_devices

        devices, _error = safe_list_devices()
        return [d for d in devices if getattr(d, "kind", "") == "input"], [
            d for d in devices if getattr(d, "kind", "") == "output"
        ]

    def on_close_requested(self, done: Callable[[], None]) -> None:
        """Window closed: shut down, then call ``done`` (which quits the application)."""

        async def close() -> None:
            try:
                await self.shutdown()
            finally:
                done()

        self._closer = asyncio.get_event_loop().create_task(close(), name="qwenvoice-close")
