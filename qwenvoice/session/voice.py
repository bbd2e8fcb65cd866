"""``VoiceSession``: one live Omni conversation, without Qt.

It chooses the endpoint and key (starting the offline server when that is the answer), connects,
reconnects and renews through the realtime client, configures each server session from the settings,
sends the microphone (gated by the turn mode), plays reply audio, handles barge-in, keeps the turns
of the conversation (saved as they happen), the event log and the metrics, and reports to its
listener. The window's Qt adapter and the terminal commands both drive it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from qwenvoice.logsetup import redact
from qwenvoice.net.backoff import NO_RECONNECT
from qwenvoice.net.client import NO_ANSWER, ConnectionState, ConnectionStatus, ConnectOptions, RealtimeClient
from qwenvoice.net.errors import FatalConnectionError
from qwenvoice.private_files import tighten_tree
from qwenvoice.protocol import notifications as nt
from qwenvoice.protocol.config import OmniSessionConfig
from qwenvoice.protocol.events import ErrorDetail
from qwenvoice.protocol.models import omni_capabilities, unknown_model_note
from qwenvoice.protocol.omni import OmniConversation
from qwenvoice.session import status as st
from qwenvoice.session.audio_link import AudioLink, Block
from qwenvoice.session.conversation import USER_RATE, Conversation, conversations_dir, data_dir
from qwenvoice.session.endpoint import LocalServer, choose_endpoint, lookup_api_key, workspace_problem
from qwenvoice.session.eventlog import EventLog, redact_error
from qwenvoice.session.link import ServerLink
from qwenvoice.session.metrics import CaptureClock, SessionMetrics
from qwenvoice.session.offline_server import OfflineServer, OfflineServerError
from qwenvoice.session.replies import Replies
from qwenvoice.session.reports import VoiceListener
from qwenvoice.session.tool_calls import ToolCalls
from qwenvoice.session.turns import TurnTaking
from qwenvoice.settings.schema import AppSettings

if TYPE_CHECKING:
    from qwenvoice.settings.secrets import ApiKeyStore
    from qwenvoice.settings.store import SettingsStore

log = logging.getLogger(__name__)

T = TypeVar("T")

NO_KEY_REASON = " No API key was found (keyring or DASHSCOPE_API_KEY)."
# The offline server child is restarted when it dies, but not without end: a third death within this
# many seconds of the first of them is reported instead.
SERVER_RESTART_WINDOW_S = 300.0
SERVER_RESTARTS_IN_WINDOW = 2
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
    workspace: str | None = None  # a workspace id for this run ("" = none), over the saved one
    region: str | None = None  # "beijing" or "singapore" for this run, over the saved region
    data_root: Path | None = None  # default: the user data dir (QWENVOICE_DATA_DIR overrides)
    config_dir: Path | None = None  # default: the user config dir (QWENVOICE_CONFIG_DIR overrides)
    audio: bool = True  # open the sound devices (off: no capture or playback, e.g. a text-only run)
    server_start_timeout: float = 180.0
    connect_options: ConnectOptions | None = None  # realtime client options; None = defaults
    save_conversation: bool = True  # off: the conversation is kept in memory only
    reconnect: bool = True  # off: a lost connection ends the session (a one-shot command cannot resume)
    mcp: tuple[str, ...] = ()  # MCP server command lines for this run (--mcp), besides the saved ones
    # Tools that act: True runs them, False refuses them, None asks the listener (and waits at most
    # tool_approval_timeout_s).
    allow_tools: bool | None = None
    tool_time_limit_s: float = 30.0
    tool_approval_timeout_s: float = 60.0


async def bounded(what: str, step: Awaitable[object], limit_s: float) -> None:
    """Run one shutdown step; log and go on if it fails or takes longer than `limit_s` seconds."""
    try:
        await asyncio.wait_for(step, limit_s)
    except TimeoutError:
        log.warning("%s took longer than %.0f s; going on with the shutdown", what, limit_s)
    except Exception:
        log.exception("%s failed", what)


class VoiceSession:
    def __init__(self, listener: VoiceListener, options: RunOptions | None = None) -> None:
        self.listener = listener
        self.options = options or RunOptions()
        self.data_root = self.options.data_root or data_dir()
        self.settings: AppSettings = AppSettings()
        self.store: SettingsStore | None = None
        self._saved_turn_mode = self.settings.ui.turn_mode  # what the settings file holds
        self._key_store: ApiKeyStore | None = None
        self.connection = st.ConnectionInfo()
        self.eventlog = EventLog()
        self.metrics = SessionMetrics()
        self.capture_clock = CaptureClock(USER_RATE)
        self.conversation = Conversation(None)
        self.local = LocalServer(log_file=self._log_dir() / "offline-server.log",
                                 start_timeout=self.options.server_start_timeout)
        self.api_key: str | None = None
        self.url: str | None = None
        self.model = ""
        self.audio = AudioLink(self.say, self._captured, self._first_sample_played)
        self.link = ServerLink(
            self.eventlog, session_config=self.session_config, renewal_config=self._renewal_config,
            on_status=self._on_status, on_notes=self._on_notes,
            on_received_line=lambda line: self.conversation.log_event_line(line),
            on_invalid_config=self._invalid_config, on_answered=self._answered,
        )
        self.replies = Replies(self)
        self.turns = TurnTaking(self)
        self.tools = ToolCalls(self)
        self._tasks: set[asyncio.Task[object]] = set()
        self._machine_tick: asyncio.Task[None] | None = None
        self.shutting_down = False
        # How the connection ended or failed (the last RECONNECTING, CLOSED or FAILED status), for a
        # face that turns it into an exit code.
        self.lost: ConnectionStatus | None = None
        # Also given every reply chunk as it is played (response id, 24 kHz pcm16): a terminal's
        # speaker or the reply file.
        self.reply_taps: list[Callable[[str, bytes], None]] = []
        self._started = False
        self._settings_loaded = False
        self._server_restarts: list[float] = []  # monotonic times the offline server was restarted
        self._server_watch: asyncio.Task[None] | None = None
        # The server refused this connection's first configuration: the session is not configured and
        # nothing is sent until the settings change or the user reconnects.
        self.refusal: ErrorDetail | None = None
        self._model_notes: set[str] = set()  # the model notices given (each once per run)
        # Hands-free: between the server's speech_started and the turn's commit (what the saved user
        # track keeps when it keeps speech only).
        self._user_speaking = False

    # ------------------------------------------------------------------ small helpers

    @property
    def machine(self) -> OmniConversation | None:
        """The protocol machine of the current server session."""
        return self.link.machine

    @property
    def client(self) -> RealtimeClient | None:
        return self.link.client

    @property
    def server(self) -> OfflineServer | None:
        return self.local.server

    @property
    def ready(self) -> bool:
        """Connected and configured: what the user says or types now is sent."""
        return self.link.ready

    @property
    def mode(self) -> str:
        return self.turns.mode

    def spawn(self, coro: Coroutine[object, object, T], name: str) -> asyncio.Task[T]:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[object]) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            log.error("task %s failed", task.get_name(), exc_info=exc)
            self.say(st.ERROR, f"Something went wrong: {exc}", st.ACTION_NONE)

    def set_connection(self, **changes: Any) -> None:  # ConnectionInfo's fields, checked by replace()
        self.connection = replace(self.connection, **changes)
        self.listener.connection_changed(self.connection)

    def say(self, level: str, text: str, action: str = st.ACTION_NONE) -> None:
        """Every notice passes here: text from the server (an error may quote the API key) is
        scrubbed of secrets before it is shown or logged."""
        text = redact(text)
        log.log(logging.ERROR if level == st.ERROR else logging.WARNING if level == st.WARNING else logging.INFO,
                "notice: %s", text)
        self.listener.notice(level, text, action)

    def _log_dir(self) -> Path:
        try:
            import platformdirs

            return Path(platformdirs.user_log_dir("qwenvoice", appauthor=False))
        except Exception:
            return self.data_root / "logs"

    # ------------------------------------------------------------------ settings

    def load_settings(self) -> None:
        from qwenvoice.settings.store import SettingsStore

        self.store = SettingsStore(self.options.config_dir) if self.options.config_dir else SettingsStore()
        result = self.store.load()
        self.settings = result.settings
        self._settings_loaded = True
        for notice in result.notices:
            self.say(st.WARNING, f"Settings: {notice}", st.ACTION_OPEN_SETTINGS)
        # This run's --mode goes into the settings (the one owner of the turn mode) but not to disk.
        self._saved_turn_mode = self.settings.ui.turn_mode
        if self.options.mode is not None:
            self.settings.ui.turn_mode = self.options.mode
        self.audio.set_volume(self.settings.audio.output_volume / 100.0)

    def key_store(self) -> ApiKeyStore:
        if self._key_store is None:
            from qwenvoice.settings.secrets import ApiKeyStore
            from qwenvoice.settings.store import default_config_dir

            self._key_store = ApiKeyStore(config_dir=self.store.config_dir if self.store else default_config_dir())
        return self._key_store

    def lookup_key(self) -> str | None:
        try:
            store = self.key_store()
        except Exception as exc:  # a broken keyring must not stop the app; the environment still works
            log.warning("API key lookup failed: %s", exc)
            store = None
        return lookup_api_key(store)

    def save_settings(self) -> None:
        if self.store is None:
            return
        settings = self.settings
        if self.options.mode is not None and settings.ui.turn_mode == self.options.mode:
            settings = settings.copy()  # the command line's turn mode is for this run only
            settings.ui.turn_mode = self._saved_turn_mode
        else:
            self._saved_turn_mode = settings.ui.turn_mode
        try:
            self.store.save(settings)
        except Exception as exc:
            self.say(st.ERROR, f"Settings could not be saved: {exc}", st.ACTION_OPEN_SETTINGS)

    def apply_settings(self, settings: AppSettings) -> None:
        """New settings (from the settings form): save them, then update the live session in place or
        reconnect when the server refuses that change mid-session (endpoint, model, a voice that has
        already spoken). The turn mode is the settings' own: the session follows it."""
        from qwenvoice.settings.changes import diff

        old = self.settings if self._settings_loaded else None
        self.settings = settings
        self._settings_loaded = True
        self.save_settings()
        self.listener.settings_changed(settings)
        if old is None:
            return
        change = diff(old, settings, omni_audio_produced=self.replies.audio_produced)
        mode_switched = old.ui.turn_mode != settings.ui.turn_mode
        if mode_switched:
            self.turns.follow_settings(changed=True)  # sends the session update too
        fixed_endpoint = bool(self.options.url or self.options.offline)
        if change.omni_needs_reconnect and not (fixed_endpoint and change.omni_reconnect_reasons == (
                "the server changed",)):
            self.say(st.INFO, "Reconnecting: " + "; ".join(change.omni_reconnect_reasons) + ".")
            self.reconnect()
        elif self.refusal is not None and (change.omni_session_changed or mode_switched):
            self.say(st.INFO, "Trying the changed settings on a new session.")
            self.reconnect()  # the refused session was closed: the new settings need a new one
        elif change.omni_session_changed and not mode_switched:
            self.send_session_update()
        if self.audio.configure(old.audio, settings.audio):
            self.spawn(self.audio.restart(settings.audio), "qwenvoice-audio-restart")

    # ------------------------------------------------------------------ start / stop

    async def start(self) -> None:
        """Load settings, start the offline server if needed, connect, open the audio devices."""
        if self._started:
            return
        self._started = True
        if not self._settings_loaded:
            self.load_settings()
        # Saved conversations and logs are the user's alone; older versions left them readable by others.
        for private in (conversations_dir(self.data_root), self._log_dir()):
            tighten_tree(private)
        self.listener.mode_changed(self.mode)
        self.new_conversation()
        await self._start_tools()
        self._machine_tick = self.spawn(self._tick_machine(), "qwenvoice-session-deadlines")
        if self.options.audio:
            self.audio.set_gate(self.mode == "vad")
            await self.audio.start(self.settings.audio)
        await self.connect()

    async def _start_tools(self) -> None:
        """The built-in tools (unless switched off) and the MCP servers, before the first configuration
        so the model is offered their tools from the start. A server that fails is said with its reason."""
        if self.settings.tools.builtin:
            self.tools.enable_builtin()
        commands = [*self.settings.tools.mcp_servers, *self.options.mcp]
        if commands:
            for problem in await self.tools.start_mcp(commands):
                self.say(st.ERROR, problem, st.ACTION_OPEN_SETTINGS)

    async def connect(self, *, announce: bool = True, continuing: bool = False) -> None:
        """Choose the endpoint (starting the offline server when it is the one) and connect. ``announce``
        off: no offline-mode notice (it was given already); ``continuing``: the first session already
        continues this conversation (its configuration carries a summary of it)."""
        self.refusal = None
        choice = choose_endpoint(self.settings.connection, url=self.options.url, offline=self.options.offline,
                                 api_key=self.lookup_key() if not self.options.offline else None,
                                 region=self.options.region, workspace=self.options.workspace)
        self.model = self.options.model or self.settings.connection.omni_model
        self.metrics.model, self.metrics.region = self.model, choice.region
        problem = workspace_problem(choice, self.model)
        if problem is not None:  # the shared endpoint does not serve this model: do not even try
            self.set_connection(state=st.FAILED, model=self.model, region=choice.region, offline=False,
                                detail=problem)
            self.say(st.ERROR, problem, st.ACTION_OPEN_SETTINGS)
            return
        self._say_model_rules()
        url, key = choice.url, choice.api_key
        if url is None:
            self.set_connection(state=st.STARTING_SERVER, model=self.model, region=choice.region, offline=True,
                                detail="")
            if announce:
                reason = NO_KEY_REASON if choice.no_key else ""
                self.say(st.INFO, OFFLINE_BANNER + reason, st.ACTION_ADD_KEY)
            try:
                url = await self.local.url()
            except OfflineServerError as exc:
                self.set_connection(state=st.FAILED, detail=str(exc))
                self.say(st.ERROR, f"The offline server could not start: {exc}", st.ACTION_RECONNECT)
                return
            key = self.local.token
        self.url, self.api_key = url, key
        self.set_connection(state=st.CONNECTING, model=self.model, region=choice.region, url=url,
                            offline=choice.offline, detail="", retry_at=None)
        try:
            client = self.link.open(url, key, self.model, self.options.connect_options,
                                    policy=None if self.options.reconnect else NO_RECONNECT, continuing=continuing)
        except Exception as exc:  # a refused URL (e.g. ws:// to a remote host)
            self.set_connection(state=st.FAILED, detail=str(exc))
            self.say(st.ERROR, f"Cannot use this endpoint: {exc}", st.ACTION_OPEN_SETTINGS)
            return
        try:
            await client.start()
        except FatalConnectionError as exc:
            log.info("connect failed: %s", exc)  # the consumer reports the FAILED status with what to do
        except Exception as exc:
            self.set_connection(state=st.FAILED, detail=str(exc))
            self.say(st.ERROR, f"Could not connect: {exc}", st.ACTION_RECONNECT)

    def _say_model_rules(self) -> None:
        """What the model's rules change in the saved settings, said once per run: a saved voice the
        model does not offer (its default is used), or a model whose rules are not known."""
        caps = omni_capabilities(self.model)
        notes: list[tuple[str, str]] = []
        if not caps.known:
            notes.append((st.WARNING, unknown_model_note(self.model)))
        saved = self.settings.omni.voice
        if isinstance(saved, str) and not caps.takes_voice(saved):
            instead = f"its default voice {caps.default_voice}" if caps.default_voice else "the server's default voice"
            notes.append((st.INFO, f"The voice {saved} is not offered by {self.model}; {instead} is used."))
        for level, text in notes:
            if text not in self._model_notes:
                self._model_notes.add(text)
                self.say(level, text, st.ACTION_OPEN_SETTINGS)

    def reconnect(self) -> None:
        """Drop the current connection and connect again (also after settings changed)."""
        if self.shutting_down:
            return

        async def again() -> None:
            await self.disconnect()
            await self.connect()

        self.spawn(again(), "qwenvoice-reconnect")

    async def disconnect(self) -> None:
        self.replies.end_response_state()
        await self.link.close()

    async def shutdown(self, before_disconnect: Awaitable[object] | None = None) -> None:
        """Close the session, stop the audio streams and the offline server; leaves nothing running."""
        if self.shutting_down:
            if before_disconnect is not None and asyncio.iscoroutine(before_disconnect):
                before_disconnect.close()
            return
        self.shutting_down = True
        self.audio.closing = True
        if self._machine_tick is not None:
            self._machine_tick.cancel()
        self.turns.cancel_tail()
        # Every step is bounded: a step that hangs (a device that never closes, a lost cancellation)
        # must not keep the window from closing or leave the offline server running.
        try:
            if before_disconnect is not None:
                await bounded("stopping speech playback", before_disconnect, 5.0)
            await bounded("closing the session", self.disconnect(), 8.0)
            await bounded("stopping audio", self.audio.stop(), 8.0)
        finally:
            await bounded("stopping the MCP servers", self.tools.stop(), 10.0)
            await bounded("stopping the offline server", self.local.stop(), 15.0)
            others = [t for t in self._tasks if t is not asyncio.current_task()]
            for task in others:
                task.cancel()
            if others:
                _done, pending = await asyncio.wait(others, timeout=3.0)
                if pending:
                    log.warning("%d task(s) did not stop during shutdown", len(pending))
            self.conversation.close()
        self.set_connection(state=st.DISCONNECTED, detail="closed")

    # ------------------------------------------------------------------ the server session

    def session_config(self) -> OmniSessionConfig:
        model = self.model or self.settings.connection.omni_model
        config = self.settings.omni.to_config(model, self.mode)
        tools = self.tools.declarations(model)  # none for a model that does not take tools
        if tools:
            config = replace(config, tools=tools, tool_choice="auto")
        return config

    def _renewal_config(self) -> OmniSessionConfig:
        from qwenvoice.session.summary import session_with_summary

        model = self.model or self.settings.connection.omni_model
        session = session_with_summary(self.session_config().to_session(model), self.conversation.turns)
        return OmniSessionConfig.from_session(session, model)

    def _invalid_config(self, exc: Exception) -> None:
        self.say(st.ERROR, f"The session settings are not valid: {exc}", st.ACTION_OPEN_SETTINGS)

    def send_session_update(self) -> None:
        """A live change (turn mode, settings): the whole session again, on the same connection."""
        try:
            self.link.reconfigure(self.session_config())
        except Exception as exc:
            self._invalid_config(exc)

    async def _tick_machine(self) -> None:
        # On the asyncio loop (not a Qt timer), so it only runs while the loop does.
        while True:
            await asyncio.sleep(0.1)
            self._on_notes(self.link.tick())

    def _on_status(self, s: ConnectionStatus) -> None:
        if self.refusal is not None:
            return  # the refused session is being closed: its end is not news, the refusal is
        if s.state is ConnectionState.CONNECTED:
            if self.link.connected(s):
                # A new server session: its input timeline (audio_end_ms) starts again at 0.
                self.capture_clock.reset()
            if self.link.answered:
                self._ready()
            else:  # ready once the server answers the configuration (a silent server must not look ready)
                self.set_connection(state=st.CONNECTING, detail="waiting for the server to answer", retry_at=None)
        elif s.state is ConnectionState.RENEWING:  # a fresh session before the time limit; still talking
            self.set_connection(detail="renewing the session")
        elif s.state is ConnectionState.CONNECTING:
            self.set_connection(state=st.CONNECTING, detail="")
        elif s.state is ConnectionState.RECONNECTING:
            self.lost = s
            self._connection_lost()  # a partial reply is kept, marked as cut off
            self.replies.flush(None)
            self.set_connection(state=st.RECONNECTING, detail=s.reason, retry_at=time.monotonic() + s.delay)
            if self._own_server_link():
                # Our own child may have died (its socket closes a moment before it is seen to exit):
                # then it is restarted, not retried on its dead port.
                self._watch_server(s)
            elif s.attempt <= 1 and s.reason.startswith(NO_ANSWER):
                self.say(st.WARNING, f"Connected, but {s.reason}. Reconnecting; what you say meanwhile is "
                         "not sent.", st.ACTION_RECONNECT)
            elif s.attempt <= 1:
                self._say_connection_lost(s)
        elif s.state is ConnectionState.FAILED:
            self.lost = s
            self._connection_lost()
            if self._own_server_link() and self.local.server is not None and not self.local.server.running:
                self._watch_server(s)  # the offline server died: restart it rather than fail
                return
            self.set_connection(state=st.FAILED, detail=s.reason, retry_at=None)
            advice = failure_advice(s, offline=self.connection.offline)
            action = st.ACTION_OPEN_SETTINGS if advice.startswith("Check the ") else st.ACTION_RECONNECT
            self.say(st.ERROR, f"Connection failed: {s.reason}. {advice}", action)
        elif s.state is ConnectionState.CLOSED:
            self.lost = s
            self._connection_lost()
            if not self.shutting_down:
                self.set_connection(state=st.DISCONNECTED, detail=s.reason, retry_at=None)
                self.say(st.WARNING, f"Disconnected: {s.reason}.", st.ACTION_RECONNECT)

    def _answered(self) -> None:
        """The server answered the configuration of a new connection: the session works now, unless
        that answer was a refusal (then it is not configured and says so)."""
        if self.refusal is None:
            self._ready()

    def _ready(self) -> None:
        was_ready = self.connection.state == st.READY
        self.set_connection(state=st.READY, detail="", retry_at=None)
        if not was_ready:  # connected again: what the connection notices said is over
            self.listener.notices_cleared(st.ACTION_RECONNECT)

    def _say_connection_lost(self, s: ConnectionStatus) -> None:
        self.say(st.WARNING, f"Connection lost ({s.reason}). Reconnecting; what you say meanwhile is not sent.",
                 st.ACTION_RECONNECT)

    # ------------------------------------------------------------------ the offline server child

    def _own_server_link(self) -> bool:
        """Connected (or connecting) to the offline server child this session started."""
        server = self.local.server
        return bool(self.connection.offline and server is not None and server.url
                    and self.url == server.url and not self.shutting_down)

    def _watch_server(self, s: ConnectionStatus) -> None:
        if self._server_watch is None or self._server_watch.done():
            self._server_watch = self.spawn(self._check_server(s), "qwenvoice-offline-server-check")

    async def _check_server(self, s: ConnectionStatus, settle_s: float = 1.0) -> None:
        """After the link to our own server dropped: restart the server if it exited, else tell the
        user about the drop as for any other server (the client is reconnecting meanwhile)."""
        server = self.local.server
        loop = asyncio.get_running_loop()
        deadline = loop.time() + settle_s
        # Polled: the child is reaped with poll(), there is no event to wait on (qasync has no child watcher).
        while server is not None and server.running and loop.time() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        if server is not None and not server.running and server is self.local.server:
            await self._restart_server(server)
        elif s.state is ConnectionState.RECONNECTING and s.attempt <= 1 and self.connection.state == st.RECONNECTING:
            self._say_connection_lost(s)

    async def _restart_server(self, dead: OfflineServer) -> None:
        """Our offline server child exited: start a new one (a new port and token) and connect to it,
        continuing the conversation. Said in one notice; a server that keeps dying is reported."""
        code = dead.process.poll() if dead.process is not None else None
        log.warning("the offline server exited (code %s); restarting it", code)
        await self.disconnect()  # stop retrying its dead port
        if self.shutting_down:
            return
        now = time.monotonic()
        self._server_restarts = [t for t in self._server_restarts if now - t < SERVER_RESTART_WINDOW_S]
        if len(self._server_restarts) >= SERVER_RESTARTS_IN_WINDOW:
            detail = f"the offline server exited (code {code})"
            self.set_connection(state=st.FAILED, detail=detail, retry_at=None)
            self.say(st.ERROR, "The offline server keeps stopping (see offline-server.log in the log folder). "
                     "Press Reconnect to start it again.", st.ACTION_RECONNECT)
            return
        self._server_restarts.append(now)
        self.set_connection(state=st.STARTING_SERVER, detail="restarting the offline server", retry_at=None)
        try:
            await self.local.url()
        except OfflineServerError as exc:
            self.set_connection(state=st.FAILED, detail=str(exc), retry_at=None)
            self.say(st.ERROR, f"The offline server stopped and could not be restarted: {exc}", st.ACTION_RECONNECT)
            return
        self.say(st.INFO, "The offline server stopped; it was restarted and the conversation goes on.")
        await self.connect(announce=False, continuing=True)

    def _connection_lost(self) -> None:
        self.tools.cancel_all()  # their call ids mean nothing to the next server session
        self._on_notes(self.link.lost())
        self.replies.end_response_state()

    def _on_notes(self, notes: list[nt.Notification]) -> None:
        for note in notes:
            self._on_note(note)

    def _on_note(self, n: nt.Notification) -> None:
        """What the Omni state machine reports, turned into turns, audio, metrics and notices."""
        if isinstance(n, nt.SendEvents):
            self.link.send_all(n.events)
        elif isinstance(n, nt.UserSpeechStarted):
            self.tools.cancel_all()
            self.replies.user_started_speaking(n.interrupted_response_id)
            self._user_speaking = True
            self.turn_changed(self.conversation.user_speech(n.item_id))
        elif isinstance(n, nt.UserSpeechStopped):
            t = self.capture_clock.time_of_ms(n.audio_end_ms)
            self.metrics.speech_ended(t if t is not None else time.monotonic())
        elif isinstance(n, nt.TurnCommitted):
            self._user_speaking = False
            self.turn_changed(self.conversation.user_speech(n.item_id))
        elif isinstance(n, nt.TranscriptDelta):
            self._on_transcript(n)
        elif isinstance(n, nt.TranscriptionFailed):
            self.say(st.WARNING, transcription_failure_text(n.error))
        elif isinstance(n, nt.ResponseStarted | nt.AudioChunk | nt.AudioDone | nt.ResponseFinished):
            if isinstance(n, nt.ResponseStarted):
                self.tools.response_started()
            self.replies.on_note(n)
        elif isinstance(n, nt.ProtocolErrorNotice) and n.configuration_refused:
            self._configuration_refused(n.error)
        elif isinstance(n, nt.ProtocolErrorNotice):
            self._on_error(n.error, n.request_type)
        elif isinstance(n, nt.SessionClosed):
            if n.reason == "finished" and not self.shutting_down and not self.link.closing:
                # The server ended the session but left the connection open: nothing more would be
                # answered on it, so say so and start a new one.
                self.say(st.WARNING, "The server ended the session; starting a new one.")
                self.reconnect()
        elif isinstance(n, nt.FunctionCallRequested):
            self.tools.on_request(n)

    def _on_transcript(self, n: nt.TranscriptDelta) -> None:
        if n.role == "user":
            self.turn_changed(self.conversation.user_transcript(n.item_id, n.text, final=n.final))
            return
        rid = n.response_id or n.item_id
        if self.replies.cancelled(rid):
            return
        if n.final:
            self.turn_changed(self.conversation.assistant_done(rid, n.text))
        elif n.replace:
            self.turn_changed(self.conversation.assistant_set(rid, n.text, n.item_id))
        else:
            self.turn_changed(self.conversation.assistant_delta(rid, n.text, n.item_id))

    def _on_error(self, err: ErrorDetail, request_type: str | None = None) -> None:
        err = redact_error(err)
        text = err.message or err.code or err.type or "no details were given"
        if err.param:
            text += f" (setting: {err.param})"
        lowered = (err.message or "").lower()
        if "active response" in lowered and request_type in (None, "response.create"):
            # A reply asked for right after a cut-in raced the cancel: ask again once that reply ends.
            self.replies.retry_create = True
            log.info("response.create raced a cancel; retrying after response.done")
            return
        if "cancel" in lowered and ("no active" in lowered or "not" in lowered and "response" in lowered):
            log.info("harmless: %s", text)  # a cancel that raced with the end of the response
            return
        if err.type == "malformed_event":
            log.info("malformed event from the server: %s", text)
            return
        self.listener.server_error(err)
        action = st.ACTION_OPEN_SETTINGS if err.param or err.type == "invalid_request_error" else st.ACTION_NONE
        advice = " Check this setting in Settings." if err.param else ""
        self.say(st.ERROR, f"The server reported an error: {text}.{advice}", action)

    def _configuration_refused(self, err: ErrorDetail) -> None:
        """The server refused a ``session.update``. Refused on a new connection, the session has no
        configuration at all: it is closed and shown as failed with the field and the server's reason
        (never ready). Refused as a live change, the previous settings stay in force: said so."""
        err = redact_error(err)
        field = err.param or "the session settings"
        reason = err.message or err.code or err.type or "no reason was given"
        machine = self.machine
        self.listener.server_error(err)
        if machine is not None and machine.config is not None:
            self.say(st.ERROR, f"The server refused the changed setting {field}: {reason}. The previous "
                     "settings stay in force.", st.ACTION_OPEN_SETTINGS)
            return
        self.refusal = err
        self.link.ready = False
        self.set_connection(state=st.FAILED, detail=f"the server refused {field}: {reason}", retry_at=None)
        self.say(st.ERROR, f"The server refused the setting {field}: {reason}. Nothing is sent until it is "
                 "changed in Settings (or press Reconnect to try again).", st.ACTION_OPEN_SETTINGS)
        if not self.shutting_down:
            self.spawn(self.disconnect(), "qwenvoice-close-refused-session")

    def turn_changed(self, index: int | None) -> None:
        if index is not None:
            self.listener.turn_changed(index)

    # ------------------------------------------------------------------ microphone

    def _captured(self, pcm: Block) -> None:
        """Captured audio that passed the gate (always in hands-free, while held in push-to-talk)."""
        if not self.ready or self.client is None or self.machine is None:
            return  # audio from an outage is never queued for later
        if not self.turns.sending():
            return
        self._send_audio(pcm.tobytes(), len(pcm))

    def _send_audio(self, data: bytes, samples: int) -> None:
        if not self.ready or self.machine is None:
            return  # audio from an outage is never queued for later
        events = self.machine.append_audio(data)
        if not events and not self.machine.ready:
            # Before session.updated the machine would drop it; the client already holds every queued
            # event until the session has taken its settings, so nothing is sent under old settings.
            from qwenvoice.protocol.events import InputAudioBufferAppend

            events = [InputAudioBufferAppend(audio=data)]
        self.capture_clock.sent(samples)
        self.turns.count_sent(samples)
        # Push-to-talk sends only while the key is held: all of it is speech.
        self.conversation.append_user_audio(data, speech=self.mode != "vad" or self._user_speaking)
        self.link.send_all(events)

    def feed_mic(self, pcm: Block | bytes) -> None:
        """A captured block from elsewhere than the sound devices (runs without them, the terminal)."""
        block = np.frombuffer(pcm, dtype=np.int16) if isinstance(pcm, bytes | bytearray) else pcm
        self.audio.feed(block)
        if self.mode == "vad" or self.turns.talking:
            self._captured(block)

    def _first_sample_played(self, at: float) -> None:
        latency = self.metrics.first_sample_played(at)
        if latency is not None:
            log.info("turn latency at the speaker: %.0f ms", latency * 1000)
            self.listener.metrics_updated()

    # ------------------------------------------------------------------ user actions

    def stop(self) -> None:
        """Stop button / Esc: silence the reply now and cancel it (and any tool call still running)."""
        self.tools.cancel_all()
        self.turns.abandon()
        self.replies.barge_in()

    def send_turn_audio(self, pcm: bytes) -> None:
        """Audio of a turn that the caller ends itself with ``commit_turn`` (whatever the turn mode)."""
        self.audio.feed(np.frombuffer(pcm, dtype=np.int16))
        self._send_audio(pcm, len(pcm) // 2)

    def commit_turn(self) -> None:
        """End a turn sent with ``send_turn_audio``: the reply is asked for once the server has it."""
        if self.machine is not None:
            self.link.send_all(self.machine.commit_turn())

    def send_text(self, text: str) -> None:
        text = text.strip()
        if not text:
            return
        if not self.ready or self.machine is None:
            self.say(st.WARNING, "Not connected: the message was not sent.", st.ACTION_RECONNECT)
            return
        if self.replies.response_active or self.audio.playing():
            self.replies.barge_in()
        self.tools.cancel_all()  # a new message supersedes a call still running
        self.turn_changed(self.conversation.user_text(text))
        self.metrics.speech_ended(time.monotonic())
        if self.machine is not None:
            self.link.send_all(self.machine.send_text(text))

    def new_conversation(self) -> None:
        self.conversation.close()
        try:
            self.conversation = Conversation.create(self.data_root, self.settings.audio.keep_audio) \
                if self.options.save_conversation else Conversation(None)
        except OSError as exc:
            self.say(st.ERROR, f"Conversations cannot be saved ({exc}); this one is kept in memory only.")
            self.conversation = Conversation(None)
        self._user_speaking = False
        self.replies.forget()
        self.listener.conversation_reset()


def transcription_failure_text(error: dict[str, Any]) -> str:
    """The notice for ``conversation.item.input_audio_transcription.failed``, with the server's reason."""
    reason = ""
    for key in ("message", "code", "type"):
        value = error.get(key) if isinstance(error, dict) else None
        if isinstance(value, str) and value.strip():
            reason = value.strip()
            break
    if not reason:
        return "Your words could not be transcribed for this turn (the server gave no reason)."
    return f"Your words could not be transcribed: {reason}"


def failure_advice(s: ConnectionStatus, offline: bool = False) -> str:
    kind = str(getattr(s.error, "kind", "")).lower()
    if "auth" in kind or s.code in (401, 403) or "401" in s.reason or "403" in s.reason:
        return "Check the API key and that it belongs to the chosen region (Settings → Connection)."
    if "config" in kind:
        return "Check the session settings."
    if offline:  # the built-in server on this machine: the network is not the problem
        return "Press Reconnect to try again."
    return "Check your network, then press Reconnect."

