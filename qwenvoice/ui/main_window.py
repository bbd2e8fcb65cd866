"""The main window: toolbar (turn mode, Stop), conversation tab (transcript, waveform, playback, talk
button, text box), speech studio, history, settings, the event inspector dock and the status bar.

It binds to the controller's signals and calls its methods; it never touches the network or audio.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import TypeAlias

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QIcon, QKeyEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QDockWidget,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMainWindow,
    QPlainTextEdit,
    QPushButton,
    QSizePolicy,
    QSplitter,
    QTabWidget,
    QTextEdit,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from qwenvoice.app.controller import Controller
from qwenvoice.session import status as st
from qwenvoice.session.tool_calls import ToolApprovalRequest
from qwenvoice.ui.conversation import TranscriptView
from qwenvoice.ui.history import HistoryPanel
from qwenvoice.ui.i18n import Retranslator, translate
from qwenvoice.ui.inspector import InspectorPanel
from qwenvoice.ui.notifications import NotificationArea
from qwenvoice.ui.playback import PlaybackPanel
from qwenvoice.ui.statusbar import AppStatusBar
from qwenvoice.ui.studio import StudioPanel
from qwenvoice.ui.waveform import WaveformView
from qwenvoice.ui.widgets import LevelMeter

log = logging.getLogger(__name__)

# Builds the settings tab; None (or an exception) leaves the window without one.
SettingsPanelFactory: TypeAlias = Callable[[], QWidget | None]

_TEXT_INPUTS = (QLineEdit, QPlainTextEdit, QTextEdit, QAbstractSpinBox, QComboBox)


def _icon(name: str) -> QIcon:
    try:
        from qwenvoice.ui.theme import icon

        return icon(name)
    except Exception:  # icons are decoration; a missing file must not stop the window
        return QIcon()


TALK_STYLE = (
    "QPushButton#talkButton {{ background: {bg}; color: {fg}; border: 2px solid {border};"
    " border-radius: 10px; font-weight: 600; font-size: 14px; padding: 6px 14px; }}"
    "QPushButton#talkButton:pressed {{ background: #e5484d; color: white; border-color: #e5484d; }}"
)


class TalkButton(QPushButton):
    """The large hold-to-talk button (mouse press = start, release = send)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("talkButton")
        self.setMinimumSize(150, 56)
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self.setAutoRepeat(False)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # Space must stay the window's talk key


SPACE_RELEASE_DEBOUNCE_MS = 40
# Small enough for a 1280×720 or 1366×768 screen at 125 % scaling; every view scrolls below its size.
MINIMUM_WIDTH, MINIMUM_HEIGHT = 800, 600

class MainWindow(QMainWindow):
    def __init__(self, controller: Controller, settings_panel_factory: SettingsPanelFactory | None = None) -> None:
        super().__init__()
        self.controller = controller
        self.setObjectName("mainWindow")
        self.setWindowTitle("qwenvoice")
        self.setMinimumSize(MINIMUM_WIDTH, MINIMUM_HEIGHT)
        self._space_down = False
        # X delivers key repeat under load as a real release + press a few ms apart; a release only
        # counts once no press follows within this window, so one hold stays one turn.
        self._space_release = QTimer(self)
        self._space_release.setSingleShot(True)
        self._space_release.setInterval(SPACE_RELEASE_DEBOUNCE_MS)
        self._space_release.timeout.connect(self._space_released)
        self._closing = False
        # Tools that act which the user allowed without asking again, until the app quits: (source, name).
        self.always_allowed_tools: set[tuple[str, str]] = set()
        self._talk_style = ""
        self.close_finished: Callable[[], None] | None = None
        # Texts set once are bound here and set again on a live language change (changeEvent).
        self._i18n = Retranslator()
        # Icons are drawn in the palette's text colour: drawn again when the theme changes.
        self._themed_icons: list[tuple[Callable[[QIcon], object], str]] = []
        tb = self._build_toolbar()
        conv_tab = self._build_conversation_tab()
        self._build_tabs(conv_tab, settings_panel_factory)
        self._build_inspector(tb)
        self.status = AppStatusBar()
        self.setStatusBar(self.status)
        self._bind_keys()
        self._bind_controller()
        self.resize(1180, 780)

    def _build_toolbar(self) -> QToolBar:
        controller, tr = self.controller, self._i18n.bind
        tb = QToolBar()
        tr(tb.setWindowTitle, lambda: translate("MainWindow", "Conversation"))
        tb.setObjectName("mainToolbar")
        tb.setMovable(False)
        tb.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.addToolBar(tb)
        self.mode_group = QActionGroup(self)
        self.mode_group.setExclusive(True)
        self.vad_action = QAction(_icon("mic"), "", self)
        self._themed_icons.append((self.vad_action.setIcon, "mic"))
        tr(self.vad_action.setText, lambda: translate("MainWindow", "Hands-free"))
        tr(self.vad_action.setToolTip, lambda: translate("MainWindow", "Voice activity detection: just talk"))
        self.ptt_action = QAction(_icon("record"), "", self)
        self._themed_icons.append((self.ptt_action.setIcon, "record"))
        tr(self.ptt_action.setText, lambda: translate("MainWindow", "Push to talk"))
        tr(self.ptt_action.setToolTip, lambda: translate("MainWindow", "Hold the talk button or Space while you speak"))
        for action, mode in ((self.vad_action, "vad"), (self.ptt_action, "ptt")):
            action.setCheckable(True)
            action.setData(mode)
            self.mode_group.addAction(action)
            tb.addAction(action)
        self.mode_group.triggered.connect(lambda a: controller.set_mode(a.data()))
        tb.addSeparator()
        self.stop_action = QAction(_icon("stop"), "", self)
        self._themed_icons.append((self.stop_action.setIcon, "stop"))
        tr(self.stop_action.setText, lambda: translate("MainWindow", "Stop"))
        tr(self.stop_action.setToolTip, lambda: translate("MainWindow", "Stop the reply (Esc)"))
        self.stop_action.triggered.connect(controller.stop)
        tb.addAction(self.stop_action)
        self.new_action = QAction(_icon("chat"), "", self)
        self._themed_icons.append((self.new_action.setIcon, "chat"))
        tr(self.new_action.setText, lambda: translate("MainWindow", "New conversation"))
        self.new_action.triggered.connect(controller.new_conversation)
        tb.addAction(self.new_action)
        spacer = QWidget()
        spacer.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        tb.addWidget(spacer)
        self.reconnect_action = QAction(_icon("refresh"), "", self)
        self._themed_icons.append((self.reconnect_action.setIcon, "refresh"))
        tr(self.reconnect_action.setText, lambda: translate("MainWindow", "Reconnect"))
        self.reconnect_action.triggered.connect(controller.reconnect)
        tb.addAction(self.reconnect_action)
        return tb

    def _build_conversation_tab(self) -> QWidget:
        controller, tr = self.controller, self._i18n.bind
        self.transcript = TranscriptView()
        self.waveform = WaveformView(controller.mic_ring, controller.assistant_ring)
        self.level_meter = LevelMeter(Qt.Orientation.Vertical)
        self.playback = PlaybackPanel(controller.playback_status)
        self.playback.setFixedWidth(230)
        self.playback.volume_changed.connect(controller.set_volume)
        scope = QFrame()
        scope.setObjectName("scope")
        scope_row = QHBoxLayout(scope)
        scope_row.setContentsMargins(0, 0, 0, 0)
        scope_row.addWidget(self.level_meter)
        scope_row.addWidget(self.waveform, 1)
        scope_row.addWidget(self.playback)

        self.talk_button = TalkButton()
        self.talk_button.pressed.connect(self._talk_pressed)
        self.talk_button.released.connect(self._talk_released)
        self.text_box = QLineEdit()
        self.text_box.setObjectName("messageBox")
        tr(self.text_box.setPlaceholderText, lambda: translate("MainWindow", "Type a message and press Enter"))
        self.text_box.returnPressed.connect(self._send_text)
        self.send_button = QPushButton(_icon("send"), "")
        self._themed_icons.append((self.send_button.setIcon, "send"))
        tr(self.send_button.setText, lambda: translate("MainWindow", "Send"))
        self.send_button.clicked.connect(self._send_text)
        self.hint = QLabel()
        self.hint.setObjectName("talkHint")
        input_row = QHBoxLayout()
        input_row.addWidget(self.talk_button)
        right = QVBoxLayout()
        text_row = QHBoxLayout()
        text_row.addWidget(self.text_box, 1)
        text_row.addWidget(self.send_button)
        right.addLayout(text_row)
        right.addWidget(self.hint)
        input_row.addLayout(right, 1)

        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.transcript)
        split.addWidget(scope)
        split.setStretchFactor(0, 1)
        split.setStretchFactor(1, 0)
        split.setSizes([420, 130])
        split.setChildrenCollapsible(False)
        conv_tab = QWidget()
        conv_box = QVBoxLayout(conv_tab)
        conv_box.setContentsMargins(8, 6, 8, 8)
        conv_box.addWidget(split, 1)
        conv_box.addLayout(input_row)
        return conv_tab

    def _build_tabs(self, conv_tab: QWidget, settings_panel_factory: SettingsPanelFactory | None) -> None:
        controller, tr = self.controller, self._i18n.bind
        self.studio = StudioPanel(controller)
        self.history = HistoryPanel(lambda: controller.data_root,
                                    live_id=lambda: controller.conversation.conversation_id)
        self.tabs = QTabWidget()
        self.tabs.setObjectName("mainTabs")
        self.tabs.setDocumentMode(True)
        for page, icon_name, title in (
            (conv_tab, "chat", lambda: translate("MainWindow", "Conversation")),
            (self.studio, "studio", lambda: translate("MainWindow", "Speech studio")),
            (self.history, "import", lambda: translate("MainWindow", "History")),
        ):
            index = self.tabs.addTab(page, _icon(icon_name), "")
            self._themed_icons.append((functools.partial(self.tabs.setTabIcon, index), icon_name))
            tr(functools.partial(self.tabs.setTabText, index), title)
        self.settings_panel: QWidget | None = None
        if settings_panel_factory is not None:
            try:
                self.settings_panel = settings_panel_factory()
            except Exception:
                log.exception("the settings panel could not be built")
        if self.settings_panel is not None:
            index = self.tabs.addTab(self.settings_panel, _icon("settings"), "")
            self._themed_icons.append((functools.partial(self.tabs.setTabIcon, index), "settings"))
            tr(functools.partial(self.tabs.setTabText, index), lambda: translate("MainWindow", "Settings"))

        central = QWidget()
        central_box = QVBoxLayout(central)
        central_box.setContentsMargins(0, 0, 0, 0)
        central_box.setSpacing(0)
        central_box.addWidget(self.tabs, 1)
        self.setCentralWidget(central)
        # Notices float over the pages, just below the tab bar: they never push the page down.
        self.notifications = NotificationArea(host=central, top_offset=self._notice_top)
        self.tabs.currentChanged.connect(lambda _index: self.notifications.place())

    def _notice_top(self) -> int:
        # Below the tab bar; on the settings tab below its own tabs too, so a notice never hides them.
        bar: QWidget = self.tabs.tabBar()
        page = self.tabs.currentWidget()
        inner = page.findChild(QTabWidget, "settingsTabs") if page is self.settings_panel else None
        if isinstance(inner, QTabWidget):
            bar = inner.tabBar()
        central = self.centralWidget()
        return bar.mapTo(central, bar.rect().bottomLeft()).y() if central is not None else bar.height()

    def _build_inspector(self, tb: QToolBar) -> None:
        controller, tr = self.controller, self._i18n.bind
        self.inspector = InspectorPanel(controller.eventlog)
        self.inspector_dock = QDockWidget(self)
        tr(self.inspector_dock.setWindowTitle, lambda: translate("MainWindow", "Event inspector"))
        self.inspector_dock.setObjectName("inspectorDock")
        self.inspector_dock.setWidget(self.inspector)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.inspector_dock)
        self.inspector_dock.hide()
        self.inspector_action = self.inspector_dock.toggleViewAction()
        self.inspector_action.setIcon(_icon("inspector"))
        self._themed_icons.append((self.inspector_action.setIcon, "inspector"))
        tr(self.inspector_action.setText, lambda: translate("MainWindow", "Inspector"))
        tb.addAction(self.inspector_action)

    def _bind_keys(self) -> None:
        self.esc_shortcut = QShortcut(QKeySequence(Qt.Key.Key_Escape), self)
        self.esc_shortcut.setContext(Qt.ShortcutContext.WindowShortcut)
        self.esc_shortcut.activated.connect(self._on_escape)
        # Ctrl+Q (Cmd+Q on macOS) quits through the same path as the close button.
        self.quit_shortcut = QShortcut(QKeySequence("Ctrl+Q"), self)
        self.quit_shortcut.setContext(Qt.ShortcutContext.ApplicationShortcut)
        self.quit_shortcut.activated.connect(self.close)
        app = QApplication.instance()
        assert app is not None
        app.installEventFilter(self)

    def _on_escape(self) -> None:
        """Esc stops what is being said: the conversation's reply, and a speech-studio job the way the
        studio's Stop does (synthesis ends, not only the sound already buffered)."""
        self.controller.stop()
        self.controller.stop_speaking()  # nothing to do when no speech job runs

    def _bind_controller(self) -> None:
        controller = self.controller
        controller.connection_changed.connect(self._on_connection)
        controller.turn_changed.connect(self._on_turn)
        controller.conversation_reset.connect(self._on_reset)
        controller.notice.connect(self._on_notice)
        controller.notices_cleared.connect(self.notifications.dismiss_key)
        controller.metrics_updated.connect(self._on_metrics)
        controller.mode_changed.connect(self._on_mode)
        controller.talking_changed.connect(self._on_talking)
        controller.response_active_changed.connect(self._on_response_active)
        controller.tool_called.connect(self.transcript.show_tool_call)
        controller.tool_approval_requested.connect(self._on_tool_approval)
        self.transcript.tool_approval_answered.connect(self._on_tool_answer)
        controller.approves_tools = True  # this window asks the user before a tool that acts runs
        self._level_timer = QTimer(self)
        self._level_timer.setInterval(50)
        self._level_timer.timeout.connect(lambda: self.level_meter.set_level_db(controller.mic_level_dbfs()))
        self._level_timer.start()

        self._on_mode(controller.mode)
        self._on_talking(False)
        self._on_connection(controller.connection)
        self._on_reset()
        # What was said before this window listened (e.g. "the settings file was damaged").
        for level, text, action in controller.take_startup_notices():
            self._on_notice(level, text, action)

    # ----- controller → view -----

    def _on_connection(self, info: st.ConnectionInfo) -> None:
        self.status.show_connection(info)
        # The cost reads "free (offline)" as soon as the connection is known to be offline.
        self.status.show_metrics(self.controller.metrics, offline=info.offline)
        self.reconnect_action.setEnabled(info.state in (st.FAILED, st.DISCONNECTED, st.RECONNECTING))

    def _on_turn(self, index: int) -> None:
        self.transcript.update_turn(self.controller.conversation.turns, index)

    def _on_reset(self) -> None:
        self.transcript.set_turns(self.controller.conversation.turns)

    def _on_tool_approval(self, request: ToolApprovalRequest) -> None:
        """A tool that acts wants to run: its card asks, unless the user already allowed it always."""
        if (request.source, request.name) in self.always_allowed_tools:
            card = self.transcript.tool_cards.get(request.call_id)
            if card is not None:
                card.note_answer(True, True)
            request.answer(True)
            return
        self.transcript.ask_tool_approval(request)

    def _on_tool_answer(self, request: ToolApprovalRequest, allowed: bool, always: bool) -> None:
        if allowed and always:
            self.always_allowed_tools.add((request.source, request.name))
        request.answer(allowed)

    def _on_notice(self, level: str, text: str, action: str) -> None:
        label, callback = self._action(action)
        # Keyed by their action: a newer one replaces it, and the session can say when they no longer
        # apply (a Reconnect banner once the connection is back).
        key = action if action in (st.ACTION_ADD_KEY, st.ACTION_RECONNECT) else ""
        banner = self.notifications.show_notice(
            level, text, label, callback, key=key, sticky=action == st.ACTION_ADD_KEY
        )
        banner.setProperty("action", action)  # its button is named again on a language change

    def _action(self, action: str) -> tuple[str, Callable[[], None] | None]:
        if action == st.ACTION_ADD_KEY:
            return self.tr("Add a key…"), self.show_api_key
        if action in (st.ACTION_OPEN_SETTINGS, st.ACTION_AUDIO_SETTINGS):
            return self.tr("Open settings"), self.show_settings
        if action == st.ACTION_RECONNECT:
            return self.tr("Reconnect"), self.controller.reconnect
        return "", None

    def show_settings(self) -> None:
        if self.settings_panel is not None:
            self.tabs.setCurrentWidget(self.settings_panel)

    def show_api_key(self) -> None:
        """The settings tab at its Connection page, with the API key field focused."""
        self.show_settings()
        show_key = getattr(self.settings_panel, "show_api_key", None)
        if callable(show_key):
            show_key()

    def _on_metrics(self) -> None:
        self.status.show_metrics(self.controller.metrics, offline=self.controller.connection.offline)

    def _on_mode(self, mode: str) -> None:
        (self.ptt_action if mode == "ptt" else self.vad_action).setChecked(True)
        self._update_talk_label()

    def _on_talking(self, talking: bool) -> None:
        self.talk_button.setProperty("talking", talking)
        self._update_talk_label()

    def _on_response_active(self, active: bool) -> None:
        self.stop_action.setEnabled(True)
        self._update_talk_label()

    def _update_talk_label(self) -> None:
        mode = self.controller.mode
        if self.controller.talking:
            self.talk_button.setText(self.tr("Release to send"))
            self.hint.setText(self.tr("Listening… release to send."))
            style = TALK_STYLE.format(bg="#e5484d", fg="white", border="#e5484d")
        elif mode == "ptt":
            self.talk_button.setText(self.tr("Hold to talk"))
            self.hint.setText(self.tr("Push to talk: hold the button or Space while you speak. Esc stops a reply."))
            style = TALK_STYLE.format(bg="#6d5dfc", fg="white", border="#6d5dfc")
        elif self.controller.response_active:
            self.talk_button.setText(self.tr("Interrupt"))
            self.hint.setText(self.tr("Hands-free: speaking during a reply interrupts it. Esc stops."))
            style = TALK_STYLE.format(bg="transparent", fg="#e5484d", border="#e5484d")
        else:
            self.talk_button.setText(self.tr("Listening"))
            self.hint.setText(self.tr("Hands-free: just talk; speaking during a reply interrupts it. Esc stops."))
            style = TALK_STYLE.format(bg="transparent", fg="#2bb673", border="#2bb673")
        if style != self._talk_style:
            self._talk_style = style
            self.talk_button.setStyleSheet(style)

    # ----- view → controller -----

    def _talk_pressed(self) -> None:
        self.controller.press_talk()

    def _talk_released(self) -> None:
        self.controller.release_talk()

    def _send_text(self) -> None:
        text = self.text_box.text().strip()
        if text:
            self.controller.send_text(text)
            self.text_box.clear()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        # Space held anywhere in this window (except where text is typed) is the talk key. This sees
        # every event of the application, so anything that is not a key event leaves at once.
        if not isinstance(event, QKeyEvent) or event.key() != Qt.Key.Key_Space:
            return False
        kind = event.type()
        if kind not in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease) or not self._space_is_talk_key():
            return False
        if event.isAutoRepeat():
            return True
        if kind == QEvent.Type.KeyPress:
            if self._space_release.isActive():
                self._space_release.stop()  # a repeat, not a new press: the hold goes on
            elif not self._space_down:
                self._space_down = True
                self.controller.press_talk()
        elif kind == QEvent.Type.KeyRelease and self._space_down:
            self._space_release.start()
        return True

    def _space_released(self) -> None:
        if self._space_down:
            self._space_down = False
            self.controller.release_talk()

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt override
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange):
            for set_icon, name in self._themed_icons:
                set_icon(_icon(name))
        if event.type() == QEvent.Type.LanguageChange:
            self._i18n.retranslate()
            self._update_talk_label()
            for banner in self.notifications.banners:
                if banner.action_button is not None and banner.property("action"):
                    banner.action_button.setText(self._action(str(banner.property("action")))[0])
        # Focus moved to another window while Space was held: its release will never reach us.
        if event.type() == QEvent.Type.ActivationChange and not self.isActiveWindow() and self._space_down:
            self._space_release.stop()
            self._space_down = False
            self.controller.release_talk()
        super().changeEvent(event)

    def _space_is_talk_key(self) -> bool:
        if not self.isActiveWindow() or self.tabs.currentIndex() != 0:
            return False
        focus = QApplication.focusWidget()
        if focus is None:
            return True
        if focus.window() is not self:
            return False
        return not isinstance(focus, _TEXT_INPUTS)

    # ----- closing -----

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        # The controller shuts down asynchronously (session, audio, offline server); the window
        # hides at once and the application quits when shutdown has finished.
        if not self._closing:
            self._closing = True
            app = QApplication.instance()
            if app is not None:
                app.removeEventFilter(self)
            self._level_timer.stop()
            self.waveform.stop()
            if self.close_finished is not None:
                self.close_finished()
        event.accept()
