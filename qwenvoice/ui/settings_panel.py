"""The settings dialog: every ``session.update`` field, validated inline, plus connection, audio, look.

Tabs: Conversation (Omni), Speech (TTS), Connection, Audio, Appearance. The dialog edits a copy of
the settings; **Apply** validates, stores the API key in the keyring, writes the settings file and
emits ``applied(AppSettings)`` (the controller sends ``session.update`` or reconnects); **OK** is
Apply + close; **Cancel** discards everything, presets included.

Validation is the protocol's own (``qwenvoice.settings.schema`` → ``qwenvoice.protocol.config``): an
out-of-range value gets a red border and a message with the value and the allowed range under the
field, and OK/Apply stay disabled while anything is wrong. Fields the chosen model does not support
are disabled, with a tooltip that says why. Everything that needs the running app (device lists,
mic level, test tone, test connection, voice preview) goes through the injected
:class:`qwenvoice.settings.services.SettingsServices`.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
from collections.abc import Callable, Coroutine, Sequence
from typing import TYPE_CHECKING, Any, cast

from PySide6.QtCore import QEvent, Qt, QTimer, Signal
from PySide6.QtGui import QStandardItemModel
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSlider,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from qwenvoice.logsetup import register_secret
from qwenvoice.protocol import models
from qwenvoice.settings.changes import carry_edits
from qwenvoice.settings.coerce import LoadNotice
from qwenvoice.settings.presets import PresetBook
from qwenvoice.settings.schema import (
    AppSettings,
    OmniSettings,
    SettingsError,
    TtsSettings,
    omni_errors,
    tts_errors,
    validate,
)
from qwenvoice.settings.secrets import ApiKeyStatus, KeySource, SecretStoreError
from qwenvoice.settings.services import (
    ConnectionCheck,
    DeviceInfo,
    EchoState,
    EchoTestReport,
    SettingsServices,
    apply_echo_recommendation,
)
from qwenvoice.settings.store import SettingsStore
from qwenvoice.ui.i18n import LANGUAGE_NATIVE_NAMES, LanguageManager, Retranslator, fill, translate
from qwenvoice.ui.presets import PresetBar
from qwenvoice.ui.theme import ThemeManager, app_icon, icon
from qwenvoice.ui.widgets import ErrorLabel, LevelMeter, NoticeBar, NumberField, set_invalid

if TYPE_CHECKING:
    from qwenvoice.app.controller import Controller

# Suggestions for the model pickers (the fields stay editable: new models work without a release).
OMNI_MODEL_SUGGESTIONS = (
    "qwen3-omni-flash-realtime",
    "qwen3-omni-flash-realtime-2025-12-01",
    "qwen3-omni-flash-realtime-2025-09-15",
    "qwen3.5-omni-plus-realtime",
    "qwen3.5-omni-flash-realtime",
    "qwen3.8-omni-flash-realtime",
    "qwen-omni-turbo-realtime",
)
TTS_MODEL_SUGGESTIONS = (
    "qwen3-tts-flash-realtime",
    "qwen3-tts-flash-realtime-2025-11-27",
    "qwen3-tts-flash-realtime-2025-09-18",
    "qwen3-tts-instruct-flash-realtime",
    "qwen3-tts-vc-realtime-2026-01-15",
    "qwen3-tts-vd-realtime-2026-01-15",
    "qwen-tts-realtime",
)

TAB_KEYS = ("conversation", "speech", "connection", "audio", "appearance")
_OMNI_SAMPLING = ("temperature", "top_p", "top_k", "repetition_penalty", "presence_penalty", "seed")
_VAD_FIELDS = ("vad_threshold", "silence_duration_ms", "prefix_padding_ms", "idle_timeout_ms")
_ALLOWED_DISPLAY_LIMIT = 140


def _tab_of(path: str) -> str:
    section = path.split(".", 1)[0]
    if path in ("connection.omni_model",) or section == "omni":
        return "conversation"
    if path in ("connection.tts_model",) or section == "tts":
        return "speech"
    if path == "ui.turn_mode":
        return "conversation"
    return {"connection": "connection", "audio": "audio", "ui": "appearance"}.get(section, "conversation")


def _short_allowed(allowed: str) -> str:
    if len(allowed) <= _ALLOWED_DISPLAY_LIMIT:
        return allowed
    return allowed[: _ALLOWED_DISPLAY_LIMIT - 1].rsplit(",", 1)[0] + ", …"


def _set_item_enabled(combo: QComboBox, index: int, enabled: bool, tooltip: str = "") -> None:
    model = combo.model()
    if isinstance(model, QStandardItemModel):
        item = model.item(index)
        if item is not None:
            item.setEnabled(enabled)
            item.setToolTip("" if enabled else tooltip)


def _select_data(combo: QComboBox, data: Any) -> bool:
    for i in range(combo.count()):
        if combo.itemData(i) == data:
            combo.setCurrentIndex(i)
            return True
    return False


class SettingsPanel(QDialog):
    """The settings dialog. ``applied`` carries a validated copy of the new settings."""

    applied = Signal(object)  # AppSettings

    def __init__(
        self,
        settings: AppSettings,
        *,
        store: SettingsStore | None = None,
        services: SettingsServices | None = None,
        languages: LanguageManager | None = None,
        themes: ThemeManager | None = None,
        notices: Sequence[LoadNotice] = (),
        embedded: bool = False,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("settingsPanel")
        # Embedded (a tab of the main window): no OK, and Cancel reverts the fields instead of closing.
        self.embedded = embedded
        if embedded:
            self.setWindowFlags(Qt.WindowType.Widget)
        self._store = store
        self._services = services
        self._languages = languages
        self._themes = themes
        self._original = settings.copy()
        self._work = settings.copy()
        self._book = PresetBook(self._work.presets)
        self._i18n = Retranslator()
        self._loading = True  # no change handling until every widget exists
        self._remove_key_requested = False
        self._tasks: set[asyncio.Future[Any]] = set()
        self._errors: dict[str, SettingsError] = {}
        self._invalid_paths: list[str] = []
        self._omni_vad_type = settings.omni.vad_type  # kept while push-to-talk hides the VAD type
        self._custom_url = settings.connection.custom_url  # kept while a named region is shown
        self._validation_notice = False
        self._tab_icon_key: tuple[frozenset[str], int] | None = None
        self._allowed_cache: dict[tuple[str, str], str | None] = {}

        # path -> widget; labels by path; error labels for widgets that are not NumberFields
        self.controls: dict[str, QWidget] = {}
        self.labels: dict[str, QLabel] = {}
        self.number_fields: dict[str, NumberField] = {}
        self.error_labels: dict[str, ErrorLabel] = {}

        self.setWindowIcon(app_icon())
        self._i18n.bind(self.setWindowTitle, lambda: translate("SettingsPanel", "Settings — qwenvoice"))
        self.setMinimumSize(680, 520)
        self.resize(860, 660)

        self.tabs = QTabWidget(self)
        self.tabs.setObjectName("settingsTabs")
        self.tabs.setDocumentMode(False)
        self._tab_pages: dict[str, QWidget] = {}
        self._build_conversation_tab()
        self._build_speech_tab()
        self._build_connection_tab()
        self._build_audio_tab()
        self._build_appearance_tab()
        self.tabs.currentChanged.connect(self._on_tab_changed)

        self.notice = NoticeBar(self, closable=True)
        self.notice.setObjectName("settingsNotice")
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok
            | QDialogButtonBox.StandardButton.Apply
            | QDialogButtonBox.StandardButton.Cancel,
            self,
        )
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setVisible(not embedded)
        self.apply_button = self.buttons.button(QDialogButtonBox.StandardButton.Apply)
        self.cancel_button = self.buttons.button(QDialogButtonBox.StandardButton.Cancel)
        self.ok_button.clicked.connect(self.accept)
        self.apply_button.clicked.connect(self.apply)
        self.cancel_button.clicked.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(self.notice)
        layout.addWidget(self.buttons)

        self._mic_timer = QTimer(self)
        self._mic_timer.setInterval(50)
        self._mic_timer.timeout.connect(self._poll_mic_level)
        self._device_timer = QTimer(self)
        self._device_timer.setInterval(2000)
        self._device_timer.timeout.connect(self.refresh_devices)
        self._device_timer.timeout.connect(self.refresh_echo_status)

        for path, label in self.labels.items():
            # A label names its field for screen readers and focuses it when clicked.
            if path in self.controls:
                label.setBuddy(self.controls[path])
        self._loading = False
        self._load(self._work)
        self._update_key_status()
        self.refresh_devices()
        self._revalidate()
        if notices:
            # What the settings file could not give us (damaged file, out-of-range values) is said once.
            text = fill(
                translate("SettingsPanel", "Some saved settings could not be used: %1"), "; ".join(map(str, notices))
            )
            self.show_notice(text, "warning")

    # ================================================================== building blocks

    def _add_tab(self, key: str, icon_name: str, title: Callable[[], str]) -> QVBoxLayout:
        page = QWidget()
        page.setObjectName(f"{key}Page")
        inner = QVBoxLayout(page)
        inner.setContentsMargins(12, 12, 12, 12)
        inner.setSpacing(10)
        scroll = QScrollArea()
        scroll.setObjectName(f"{key}Scroll")
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setWidget(page)
        scroll.setProperty("icon_name", icon_name)
        index = self.tabs.addTab(scroll, icon(icon_name), "")
        self._i18n.bind(functools.partial(self.tabs.setTabText, index), title)
        self._tab_pages[key] = scroll
        return inner

    def _group(self, parent_layout: QVBoxLayout, title: Callable[[], str]) -> QFormLayout:
        box = QGroupBox()
        self._i18n.bind(box.setTitle, title)
        form = QFormLayout(box)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.DontWrapRows)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        parent_layout.addWidget(box)
        return form

    def _label(self, path: str, text: Callable[[], str]) -> QLabel:
        label = QLabel()
        self._i18n.bind(label.setText, text)
        self.labels[path] = label
        return label

    def _with_error(self, path: str, widget: QWidget, extra: QWidget | None = None) -> QWidget:
        """Wrap a non-number control with an error line under it."""
        box = QWidget()
        column = QVBoxLayout(box)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(2)
        if extra is not None:
            row = QHBoxLayout()
            row.setContentsMargins(0, 0, 0, 0)
            row.addWidget(widget, 1)
            row.addWidget(extra)
            column.addLayout(row)
        else:
            column.addWidget(widget)
        error = ErrorLabel(box)
        column.addWidget(error)
        self.error_labels[path] = error
        return box

    def _number(self, path: str, kind: type[int] | type[float], *, optional: bool) -> NumberField:
        field = NumberField(kind, optional=optional)
        field.setObjectName(path)
        field.setMaximumWidth(260)
        if optional:
            self._i18n.bind(field.setPlaceholderText, lambda: translate("SettingsPanel", "model default"))
        field.valueChanged.connect(self._on_changed)
        field.edited.connect(self._on_text_edited)
        self.controls[path] = field
        self.number_fields[path] = field
        return field

    def _combo(self, path: str, *, editable: bool = False) -> QComboBox:
        combo = QComboBox()
        combo.setObjectName(path)
        combo.setEditable(editable)
        combo.setMinimumContentsLength(12)
        if editable:
            combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
            combo.editTextChanged.connect(self._on_changed)
        combo.currentIndexChanged.connect(self._on_changed)
        self.controls[path] = combo
        return combo

    def _check(self, path: str, text: Callable[[], str]) -> QCheckBox:
        box = QCheckBox()
        box.setObjectName(path)
        self._i18n.bind(box.setText, text)
        box.toggled.connect(self._on_changed)
        self.controls[path] = box
        return box

    def _add_items(self, combo: QComboBox, items: list[tuple[Any, Callable[[], str]]]) -> None:
        for data, text in items:
            combo.addItem("", data)
            index = combo.count() - 1
            self._i18n.bind(functools.partial(combo.setItemText, index), text)

    def _icon_button(self, icon_name: str) -> QPushButton:
        button = QPushButton(icon(icon_name), "")
        button.setProperty("icon_name", icon_name)  # re-tinted when the theme changes
        return button

    def _retint_icons(self) -> None:
        for button in self.findChildren(QPushButton):
            name = button.property("icon_name")
            if name:
                button.setIcon(icon(str(name), self.palette()))

    def _hint(self, text: Callable[[], str]) -> QLabel:
        label = QLabel()
        label.setProperty("role", "hint")
        label.setWordWrap(True)
        self._i18n.bind(label.setText, text)
        return label

    # ================================================================== tabs

    def _build_conversation_tab(self) -> None:
        page = self._add_tab("conversation", "chat", lambda: translate("SettingsPanel", "Conversation"))
        self.omni_presets = self._preset_bar(
            page, "omni", self._omni_section_or_none, self._omni_model, self._apply_omni_section
        )

        form = self._group(page, lambda: translate("SettingsPanel", "Model and voice"))
        self._model_row(form, "omni", OMNI_MODEL_SUGGESTIONS)
        voice = self._combo("omni.voice", editable=True)
        form.addRow(
            self._label("omni.voice", lambda: translate("SettingsPanel", "Voice:")),
            self._with_error("omni.voice", voice),
        )
        modalities = self._combo("omni.modalities")
        self._add_items(
            modalities,
            [
                ("text,audio", lambda: translate("SettingsPanel", "Speech and text")),
                ("text", lambda: translate("SettingsPanel", "Text only")),
            ],
        )
        form.addRow(self._label("omni.modalities", lambda: translate("SettingsPanel", "Replies:")), modalities)
        self._instructions_row(
            form,
            "omni.instructions",
            (72, 100),
            lambda: translate("SettingsPanel", "System prompt: who the assistant is and how it should answer."),
        )

        form = self._group(page, lambda: translate("SettingsPanel", "Turn taking"))
        turn = self._combo("ui.turn_mode")
        self._add_items(
            turn,
            [
                ("off", lambda: translate("SettingsPanel", "Off (push-to-talk)")),
                ("server_vad", lambda: translate("SettingsPanel", "Server voice detection (server_vad)")),
                ("semantic_vad", lambda: translate("SettingsPanel", "Semantic voice detection (semantic_vad)")),
            ],
        )
        turn.currentIndexChanged.connect(self._remember_vad_type)
        form.addRow(self._label("ui.turn_mode", lambda: translate("SettingsPanel", "Turn detection:")), turn)
        grid_host, grid = self._grid_host()
        vad_fields = [
            ("omni.vad_threshold", float, False, lambda: translate("SettingsPanel", "Threshold:")),
            ("omni.silence_duration_ms", int, False, lambda: translate("SettingsPanel", "Silence (ms):")),
            ("omni.prefix_padding_ms", int, False, lambda: translate("SettingsPanel", "Prefix padding (ms):")),
            ("omni.idle_timeout_ms", int, True, lambda: translate("SettingsPanel", "Idle timeout (ms):")),
        ]
        self._number_grid(grid, vad_fields)
        form.addRow(grid_host)
        transcription = self._check(
            "omni.input_transcription", lambda: translate("SettingsPanel", "Transcribe what I say")
        )
        form.addRow(
            self._label("omni.input_transcription", lambda: translate("SettingsPanel", "Input:")), transcription
        )

        form = self._group(page, lambda: translate("SettingsPanel", "Generation"))
        grid_host, grid = self._grid_host()
        self._number_grid(
            grid,
            [
                ("omni.temperature", float, True, lambda: translate("SettingsPanel", "Temperature:")),
                ("omni.top_p", float, True, lambda: translate("SettingsPanel", "Top p:")),
                ("omni.top_k", int, True, lambda: translate("SettingsPanel", "Top k:")),
                ("omni.max_tokens", int, True, lambda: translate("SettingsPanel", "Max tokens:")),
                ("omni.repetition_penalty", float, True, lambda: translate("SettingsPanel", "Repetition penalty:")),
                ("omni.presence_penalty", float, True, lambda: translate("SettingsPanel", "Presence penalty:")),
                ("omni.seed", int, True, lambda: translate("SettingsPanel", "Seed:")),
            ],
        )
        smooth = self._combo("omni.smooth_output")
        self._add_items(
            smooth,
            [
                ("auto", lambda: translate("SettingsPanel", "Model decides")),
                ("on", lambda: translate("SettingsPanel", "Conversational")),
                ("off", lambda: translate("SettingsPanel", "Formal")),
            ],
        )
        style_label = self._label("omni.smooth_output", lambda: translate("SettingsPanel", "Style:"))
        style_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        grid.addWidget(style_label, 6, 2)  # beside "Seed", the 7th field
        grid.addWidget(smooth, 6, 3)
        form.addRow(grid_host)
        form.addRow(
            self._hint(
                lambda: translate(
                    "SettingsPanel", "Leave a field empty to use the model's default. Values are checked as you type."
                )
            )
        )
        page.addStretch(1)

    def _preset_bar(
        self,
        page: QVBoxLayout,
        kind: str,
        section: Callable[[], Any],
        model: Callable[[], str],
        apply: Callable[[Any], None],
    ) -> PresetBar:
        bar = PresetBar(kind, self._book, section, model, apply)
        bar.presetsChanged.connect(self._on_changed)
        bar.message.connect(self.show_notice)
        page.addWidget(bar)
        return bar

    def _model_row(self, form: QFormLayout, kind: str, suggestions: Sequence[str]) -> None:
        """The editable model box of the Omni or TTS tab; a change re-checks what that model supports."""
        path = f"connection.{kind}_model"
        model = self._combo(path, editable=True)
        model.setMinimumWidth(300)
        model.addItems(list(suggestions))
        model.currentTextChanged.connect(lambda _t: self._on_model_changed(kind))
        form.addRow(self._label(path, lambda: translate("SettingsPanel", "Model:")), self._with_error(path, model))

    def _instructions_row(
        self, form: QFormLayout, path: str, height: tuple[int, int], placeholder: Callable[[], str]
    ) -> None:
        box = QPlainTextEdit()
        box.setObjectName(path)
        box.setTabChangesFocus(True)
        box.setMinimumHeight(height[0])
        box.setMaximumHeight(height[1])
        self._i18n.bind(box.setPlaceholderText, placeholder)
        box.textChanged.connect(self._on_changed)
        self.controls[path] = box
        form.addRow(
            self._label(path, lambda: translate("SettingsPanel", "Instructions:")), self._with_error(path, box)
        )

    @staticmethod
    def _grid_host() -> tuple[QWidget, QGridLayout]:
        host = QWidget()
        grid = QGridLayout(host)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(12)
        return host, grid

    def _number_grid(
        self, grid: QGridLayout, fields: list[tuple[str, type[int] | type[float], bool, Callable[[], str]]]
    ) -> None:
        """Two label+field pairs per row; each field's error line gets the row below, spanning from the
        field to the next column, so a message with its allowed range fits on one line."""
        for n, (path, kind, optional, text) in enumerate(fields):
            pair_row, col = divmod(n, 2)
            row = pair_row * 2
            label = self._label(path, text)
            label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            grid.addWidget(label, row, col * 2)
            field = self._number(path, kind, optional=optional)
            field.setMinimumWidth(200)
            grid.addWidget(field, row, col * 2 + 1)
            grid.addWidget(field.error_label, row + 1, col * 2 + 1, 1, 2)
        grid.setColumnStretch(4, 1)  # pairs stay together on the left; spare width goes to the end
        grid.setColumnMinimumWidth(2, 130)  # also widens the left error line, which spans into it
        grid.setVerticalSpacing(6)

    def _build_speech_tab(self) -> None:
        page = self._add_tab("speech", "studio", lambda: translate("SettingsPanel", "Speech"))
        self.tts_presets = self._preset_bar(
            page, "tts", self._tts_section_or_none, self._tts_model, self._apply_tts_section
        )

        form = self._group(page, lambda: translate("SettingsPanel", "Model and voice"))
        self._model_row(form, "tts", TTS_MODEL_SUGGESTIONS)
        voice = self._combo("tts.voice", editable=True)
        form.addRow(
            self._label("tts.voice", lambda: translate("SettingsPanel", "Voice:")), self._with_error("tts.voice", voice)
        )
        language = self._combo("tts.language_type")
        form.addRow(
            self._label("tts.language_type", lambda: translate("SettingsPanel", "Language:")),
            self._with_error("tts.language_type", language),
        )
        mode = self._combo("tts.mode")
        self._add_items(
            mode,
            [
                ("server_commit", lambda: translate("SettingsPanel", "Server decides when to speak (server_commit)")),
                ("commit", lambda: translate("SettingsPanel", "Speak when text is committed (commit)")),
            ],
        )
        form.addRow(self._label("tts.mode", lambda: translate("SettingsPanel", "Mode:")), mode)

        form = self._group(page, lambda: translate("SettingsPanel", "Audio format"))
        fmt = self._combo("tts.response_format")
        for value in models.TTS_FORMATS:
            fmt.addItem(value.upper() if value != "pcm" else "PCM", value)
        form.addRow(
            self._label("tts.response_format", lambda: translate("SettingsPanel", "Format:")),
            self._with_error("tts.response_format", fmt),
        )
        rate = self._combo("tts.sample_rate")
        for sample_rate in models.TTS_SAMPLE_RATES:
            rate.addItem(f"{sample_rate} Hz", sample_rate)
        form.addRow(
            self._label("tts.sample_rate", lambda: translate("SettingsPanel", "Sample rate:")),
            self._with_error("tts.sample_rate", rate),
        )
        form.addRow(
            self._label("tts.bit_rate", lambda: translate("SettingsPanel", "Bit rate (kbps):")),
            self._number("tts.bit_rate", int, optional=True),
        )

        form = self._group(page, lambda: translate("SettingsPanel", "Delivery"))
        grid_host, grid = self._grid_host()
        self._number_grid(
            grid,
            [
                ("tts.speech_rate", float, True, lambda: translate("SettingsPanel", "Speech rate:")),
                ("tts.pitch_rate", float, True, lambda: translate("SettingsPanel", "Pitch:")),
                ("tts.volume", int, True, lambda: translate("SettingsPanel", "Volume:")),
            ],
        )
        form.addRow(grid_host)
        self._instructions_row(
            form,
            "tts.instructions",
            (56, 84),
            lambda: translate("SettingsPanel", "How to speak, e.g. “warm and unhurried, like a bedtime story”."),
        )
        optimize = self._check(
            "tts.optimize_instructions", lambda: translate("SettingsPanel", "Let the model refine the instructions")
        )
        form.addRow("", self._with_error("tts.optimize_instructions", optimize))

        form = self._group(page, lambda: translate("SettingsPanel", "Preview"))
        self.preview_text = QLineEdit()
        self.preview_text.setObjectName("previewText")
        self._i18n.bind(
            self.preview_text.setText,
            lambda: translate("SettingsPanel", "Hello! This is how I sound with these settings."),
        )
        self.preview_button = self._icon_button("play")
        self.preview_button.setObjectName("previewVoice")
        self._i18n.bind(self.preview_button.setText, lambda: translate("SettingsPanel", "Preview voice"))
        self.preview_button.clicked.connect(self.preview_voice)
        row = QHBoxLayout()
        row.addWidget(self.preview_text, 1)
        row.addWidget(self.preview_button)
        form.addRow(self._label("preview", lambda: translate("SettingsPanel", "Sample:")), row)
        self.preview_status = QLabel()
        self.preview_status.setProperty("role", "hint")
        self.preview_status.setWordWrap(True)
        self.preview_status.hide()
        form.addRow("", self.preview_status)
        page.addStretch(1)

    def _build_connection_tab(self) -> None:
        page = self._add_tab("connection", "connection", lambda: translate("SettingsPanel", "Connection"))
        form = self._group(page, lambda: translate("SettingsPanel", "Server"))
        region = self._combo("connection.region")
        self._add_items(
            region,
            [
                ("beijing", lambda: translate("SettingsPanel", "Alibaba Cloud — Beijing (China mainland)")),
                ("singapore", lambda: translate("SettingsPanel", "Alibaba Cloud — Singapore (international)")),
                ("custom", lambda: translate("SettingsPanel", "Custom URL")),
                ("offline", lambda: translate("SettingsPanel", "Offline (built-in local server)")),
            ],
        )
        form.addRow(self._label("connection.region", lambda: translate("SettingsPanel", "Region:")), region)
        url = QLineEdit()
        url.setObjectName("connection.custom_url")
        url.setPlaceholderText("wss://…/api-ws/v1/realtime")
        url.textChanged.connect(self._on_url_edited)
        self.controls["connection.custom_url"] = url
        self.url_edit = url
        form.addRow(
            self._label("connection.custom_url", lambda: translate("SettingsPanel", "URL:")),
            self._with_error("connection.custom_url", url),
        )
        form.addRow(
            self._hint(
                lambda: translate(
                    "SettingsPanel",
                    "Keys are per region: a Singapore key is refused in Beijing (HTTP 401) and the other way round.",
                )
            )
        )

        form = self._group(page, lambda: translate("SettingsPanel", "API key"))
        self.key_edit = QLineEdit()
        self.key_edit.setObjectName("apiKey")
        self.key_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.key_edit.setClearButtonEnabled(True)
        self.key_edit.setAttribute(Qt.WidgetAttribute.WA_InputMethodEnabled, False)
        self.key_edit.textChanged.connect(self._on_key_edited)
        self.remove_key_button = self._icon_button("trash")
        self.remove_key_button.setObjectName("removeKey")
        self._i18n.bind(self.remove_key_button.setText, lambda: translate("SettingsPanel", "Forget stored key"))
        self.remove_key_button.clicked.connect(self._request_key_removal)
        form.addRow(
            self._label("api_key", lambda: translate("SettingsPanel", "DashScope key:")),
            self._with_error("api_key", self.key_edit, self.remove_key_button),
        )
        self.key_status = QLabel()
        self.key_status.setObjectName("keyStatus")
        self.key_status.setProperty("role", "hint")
        self.key_status.setWordWrap(True)
        form.addRow("", self.key_status)
        self.plaintext_check = QCheckBox()
        self.plaintext_check.setObjectName("allowPlaintextKey")
        self._i18n.bind(
            self.plaintext_check.setText,
            lambda: translate("SettingsPanel", "No keyring here: store the key unencrypted in a private file"),
        )
        self.plaintext_check.toggled.connect(self._on_plaintext_toggled)
        form.addRow("", self.plaintext_check)

        form = self._group(page, lambda: translate("SettingsPanel", "Check"))
        self.test_connection_button = self._icon_button("refresh")
        self.test_connection_button.setObjectName("testConnection")
        self._i18n.bind(self.test_connection_button.setText, lambda: translate("SettingsPanel", "Test connection"))
        self.test_connection_button.clicked.connect(self.test_connection)
        self.connection_result = NoticeBar()
        self.connection_result.setObjectName("connectionResult")
        row = QHBoxLayout()
        row.addWidget(self.test_connection_button)
        row.addStretch(1)
        form.addRow(row)
        form.addRow(self.connection_result)
        page.addStretch(1)

    def _build_audio_tab(self) -> None:
        page = self._add_tab("audio", "audio", lambda: translate("SettingsPanel", "Audio"))
        self.audio_unavailable = NoticeBar()
        page.addWidget(self.audio_unavailable)

        form = self._group(page, lambda: translate("SettingsPanel", "Microphone"))
        self.input_combo = self._combo("audio.input_device")
        self.input_combo.currentIndexChanged.connect(self._restart_mic_monitor)
        self.refresh_devices_button = self._icon_button("refresh")
        self.refresh_devices_button.setObjectName("refreshDevices")
        self._i18n.bind(
            self.refresh_devices_button.setToolTip, lambda: translate("SettingsPanel", "Look for devices again")
        )
        self.refresh_devices_button.clicked.connect(self.refresh_devices)
        row = QHBoxLayout()
        row.addWidget(self.input_combo, 1)
        row.addWidget(self.refresh_devices_button)
        form.addRow(self._label("audio.input_device", lambda: translate("SettingsPanel", "Input device:")), row)
        self.mic_meter = LevelMeter()
        self.mic_level_label = QLabel("—")
        self.mic_level_label.setProperty("role", "hint")
        self.mic_level_label.setMinimumWidth(70)
        row = QHBoxLayout()
        row.addWidget(self.mic_meter, 1)
        row.addWidget(self.mic_level_label)
        form.addRow(self._label("mic_level", lambda: translate("SettingsPanel", "Level:")), row)

        form = self._group(page, lambda: translate("SettingsPanel", "Playback"))
        self.output_combo = self._combo("audio.output_device")
        self.output_combo.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        form.addRow(
            self._label("audio.output_device", lambda: translate("SettingsPanel", "Output device:")), self.output_combo
        )
        volume = QSlider(Qt.Orientation.Horizontal)
        volume.setObjectName("audio.output_volume")
        volume.setRange(0, 100)
        volume.setPageStep(10)
        self.volume_label = QLabel()
        self.volume_label.setMinimumWidth(44)
        volume.valueChanged.connect(lambda v: self.volume_label.setText(f"{v} %"))
        volume.valueChanged.connect(self._on_changed)
        self.controls["audio.output_volume"] = volume
        self.volume_slider = volume
        self.test_tone_button = self._icon_button("speaker")
        self.test_tone_button.setObjectName("testTone")
        self._i18n.bind(self.test_tone_button.setText, lambda: translate("SettingsPanel", "Test tone"))
        self.test_tone_button.clicked.connect(self.play_test_tone)
        row = QHBoxLayout()
        row.addWidget(volume, 1)
        row.addWidget(self.volume_label)
        row.addWidget(self.test_tone_button)
        form.addRow(self._label("audio.output_volume", lambda: translate("SettingsPanel", "Volume:")), row)
        listening = self._combo("audio.listening_setup")
        self._add_items(
            listening,
            [
                ("speakers", lambda: translate("SettingsPanel", "Speakers (the microphone can hear the assistant)")),
                ("headphones", lambda: translate("SettingsPanel", "Headphones")),
            ],
        )
        form.addRow(
            self._label("audio.listening_setup", lambda: translate("SettingsPanel", "I listen with:")), listening
        )
        echo = self._check(
            "audio.echo_cancellation",
            lambda: translate("SettingsPanel", "Cancel the assistant's echo from the microphone"),
        )
        form.addRow("", echo)
        half_duplex = self._check(
            "audio.half_duplex",
            lambda: translate(
                "SettingsPanel", "Mute the microphone while the assistant speaks (interrupt with the button or key)"
            ),
        )
        form.addRow("", half_duplex)
        listening.currentIndexChanged.connect(self._update_echo_controls)
        self._build_echo_test(page)
        page.addStretch(1)

    def _build_echo_test(self, page: QVBoxLayout) -> None:
        form = self._group(page, lambda: translate("SettingsPanel", "Echo"))
        self.echo_test_button = self._icon_button("speaker")
        self.echo_test_button.setObjectName("echoSelfTest")
        self._i18n.bind(self.echo_test_button.setText, lambda: translate("SettingsPanel", "Run echo self-test"))
        self.echo_test_button.clicked.connect(self.run_echo_self_test)
        self.echo_test_progress = QProgressBar()
        self.echo_test_progress.setObjectName("echoTestProgress")
        self.echo_test_progress.setRange(0, 0)  # busy: the test takes about five seconds
        self.echo_test_progress.setMaximumWidth(160)
        self.echo_test_progress.setVisible(False)
        row = QHBoxLayout()
        row.addWidget(self.echo_test_button)
        row.addWidget(self.echo_test_progress)
        row.addStretch(1)
        form.addRow(row)
        form.addRow(
            self._hint(
                lambda: translate(
                    "SettingsPanel",
                    "Plays a short noise through the chosen output and listens with the chosen microphone, "
                    "then suggests how to talk: over the speakers with echo cancellation, or with the "
                    "microphone muted while the assistant speaks.",
                )
            )
        )
        self.echo_test_result = NoticeBar()
        self.echo_test_result.setObjectName("echoTestResult")
        form.addRow(self.echo_test_result)
        self.apply_echo_button = QPushButton()
        self.apply_echo_button.setObjectName("applyEchoRecommendation")
        self._i18n.bind(self.apply_echo_button.setText, lambda: translate("SettingsPanel", "Use the recommendation"))
        self.apply_echo_button.clicked.connect(self.apply_echo_recommendation)
        self.apply_echo_button.setVisible(False)
        row = QHBoxLayout()
        row.addWidget(self.apply_echo_button)
        row.addStretch(1)
        form.addRow(row)
        self.echo_status = QLabel()
        self.echo_status.setObjectName("echoStatus")
        self.echo_status.setProperty("role", "hint")
        self.echo_status.setWordWrap(True)
        form.addRow(self._label("echo_status", lambda: translate("SettingsPanel", "Now:")), self.echo_status)
        self._echo_report: EchoTestReport | None = None

    def _build_appearance_tab(self) -> None:
        page = self._add_tab("appearance", "appearance", lambda: translate("SettingsPanel", "Appearance"))
        form = self._group(page, lambda: translate("SettingsPanel", "Look and language"))
        language = self._combo("ui.language")
        self._add_items(
            language,
            [
                ("system", lambda: translate("SettingsPanel", "Follow the system")),
                ("en", lambda: LANGUAGE_NATIVE_NAMES["en"]),
                ("zh_CN", lambda: LANGUAGE_NATIVE_NAMES["zh_CN"]),
            ],
        )
        form.addRow(self._label("ui.language", lambda: translate("SettingsPanel", "Language:")), language)
        theme = self._combo("ui.theme")
        self._add_items(
            theme,
            [
                ("system", lambda: translate("SettingsPanel", "Follow the system")),
                ("light", lambda: translate("SettingsPanel", "Light")),
                ("dark", lambda: translate("SettingsPanel", "Dark")),
            ],
        )
        form.addRow(self._label("ui.theme", lambda: translate("SettingsPanel", "Theme:")), theme)
        form.addRow(
            self._hint(
                lambda: translate(
                    "SettingsPanel",
                    "Both change as soon as you apply. “Follow the system” uses your desktop's language and its "
                    "light or dark setting, and keeps following it.",
                )
            )
        )
        page.addStretch(1)

    # ================================================================== settings <-> widgets

    def _cb(self, path: str) -> QComboBox:
        return cast(QComboBox, self.controls[path])

    def _chk(self, path: str) -> QCheckBox:
        return cast(QCheckBox, self.controls[path])

    def _text(self, path: str) -> QPlainTextEdit:
        return cast(QPlainTextEdit, self.controls[path])

    def _load(self, settings: AppSettings) -> None:
        self._loading = True
        try:
            conn = settings.connection
            self._cb("connection.omni_model").setCurrentText(conn.omni_model)
            self._cb("connection.tts_model").setCurrentText(conn.tts_model)
            _select_data(self._cb("connection.region"), conn.region)
            self._custom_url = conn.custom_url
            self.url_edit.setText(conn.custom_url)
            self._load_omni(settings.omni, settings.ui.turn_mode)
            self._load_tts(settings.tts)
            audio = settings.audio
            self._show_device(self.input_combo, audio.input_device)
            self._show_device(self.output_combo, audio.output_device)
            self.volume_slider.setValue(audio.output_volume)
            self.volume_label.setText(f"{audio.output_volume} %")
            _select_data(self._cb("audio.listening_setup"), audio.listening_setup)
            self._chk("audio.echo_cancellation").setChecked(audio.echo_cancellation)
            self._chk("audio.half_duplex").setChecked(audio.half_duplex)
            _select_data(self._cb("ui.language"), settings.ui.language)
            _select_data(self._cb("ui.theme"), settings.ui.theme)
        finally:
            self._loading = False
        self._update_capabilities()
        self._update_echo_controls()

    def _load_omni(self, omni: OmniSettings, turn_mode: str | None = None) -> None:
        was_loading, self._loading = self._loading, True
        try:
            self._fill_omni_voices()
            self._cb("omni.voice").setCurrentText(omni.voice)
            _select_data(self._cb("omni.modalities"), ",".join(omni.modalities))
            self._text("omni.instructions").setPlainText(omni.instructions)
            if turn_mode is not None:
                self._omni_vad_type = omni.vad_type
                _select_data(self._cb("ui.turn_mode"), "off" if turn_mode == "ptt" else omni.vad_type)
            else:
                current = self._cb("ui.turn_mode").currentData()
                self._omni_vad_type = omni.vad_type
                if current != "off":
                    _select_data(self._cb("ui.turn_mode"), omni.vad_type)
            for name in (*_VAD_FIELDS, *_OMNI_SAMPLING, "max_tokens"):
                self.number_fields[f"omni.{name}"].setValue(getattr(omni, name))
            self._chk("omni.input_transcription").setChecked(omni.input_transcription)
            smooth = {None: "auto", True: "on", False: "off"}[omni.smooth_output]
            _select_data(self._cb("omni.smooth_output"), smooth)
        finally:
            self._loading = was_loading

    def _load_tts(self, tts: TtsSettings) -> None:
        was_loading, self._loading = self._loading, True
        try:
            self._fill_tts_lists()
            self._cb("tts.voice").setCurrentText(tts.voice)
            if not _select_data(self._cb("tts.language_type"), tts.language_type):
                self._cb("tts.language_type").addItem(tts.language_type, tts.language_type)
                _select_data(self._cb("tts.language_type"), tts.language_type)
            _select_data(self._cb("tts.mode"), tts.mode)
            _select_data(self._cb("tts.response_format"), tts.response_format)
            _select_data(self._cb("tts.sample_rate"), tts.sample_rate)
            for name in ("speech_rate", "volume", "pitch_rate", "bit_rate"):
                self.number_fields[f"tts.{name}"].setValue(getattr(tts, name))
            self._text("tts.instructions").setPlainText(tts.instructions or "")
            self._chk("tts.optimize_instructions").setChecked(bool(tts.optimize_instructions))
        finally:
            self._loading = was_loading

    def _omni_model(self) -> str:
        return self._cb("connection.omni_model").currentText().strip()

    def _tts_model(self) -> str:
        return self._cb("connection.tts_model").currentText().strip()

    def _number_value(self, path: str) -> Any:
        return self.number_fields[path].value()

    def _collect_omni(self) -> tuple[OmniSettings, str]:
        turn = self._cb("ui.turn_mode").currentData()
        vad_type = self._omni_vad_type if turn == "off" else str(turn)
        smooth = {"auto": None, "on": True, "off": False}[self._cb("omni.smooth_output").currentData()]
        omni = OmniSettings(
            voice=self._cb("omni.voice").currentText().strip(),
            instructions=self._text("omni.instructions").toPlainText(),
            modalities=tuple(str(self._cb("omni.modalities").currentData()).split(",")),
            vad_type=vad_type,
            input_transcription=self._chk("omni.input_transcription").isChecked(),
            smooth_output=smooth,
            **{name: self._number_value(f"omni.{name}") for name in (*_VAD_FIELDS, *_OMNI_SAMPLING, "max_tokens")},
        )
        return omni, ("ptt" if turn == "off" else "vad")

    def _collect_tts(self) -> TtsSettings:
        instructions = self._text("tts.instructions").toPlainText()
        return TtsSettings(
            voice=self._cb("tts.voice").currentText().strip(),
            mode=str(self._cb("tts.mode").currentData()),
            language_type=str(self._cb("tts.language_type").currentData()),
            response_format=str(self._cb("tts.response_format").currentData()),
            sample_rate=int(self._cb("tts.sample_rate").currentData()),
            instructions=instructions if instructions.strip() else None,
            optimize_instructions=True if self._chk("tts.optimize_instructions").isChecked() else None,
            **{name: self._number_value(f"tts.{name}") for name in ("speech_rate", "volume", "pitch_rate", "bit_rate")},
        )

    def collect(self) -> AppSettings:
        """The settings as currently shown (may be invalid; see ``errors()``)."""
        settings = self._work.copy()
        settings.connection = dataclasses.replace(
            settings.connection,
            region=str(self._cb("connection.region").currentData()),
            custom_url=self._custom_url.strip(),
            omni_model=self._omni_model(),
            tts_model=self._tts_model(),
        )
        settings.omni, settings.ui.turn_mode = self._collect_omni()
        settings.tts = self._collect_tts()
        settings.audio = dataclasses.replace(
            settings.audio,
            input_device=self._cb("audio.input_device").currentData(),
            output_device=self._cb("audio.output_device").currentData(),
            output_volume=self.volume_slider.value(),
            listening_setup=str(self._cb("audio.listening_setup").currentData()),
            echo_cancellation=self._chk("audio.echo_cancellation").isChecked(),
            half_duplex=self._chk("audio.half_duplex").isChecked(),
        )
        settings.ui.language = str(self._cb("ui.language").currentData())
        settings.ui.theme = str(self._cb("ui.theme").currentData())
        return settings

    def original(self) -> AppSettings:
        """The settings as last applied (or as given, if nothing was applied)."""
        return self._original.copy()

    # presets glue
    def _omni_section_or_none(self) -> OmniSettings | None:
        if any(not f.is_valid() for p, f in self.number_fields.items() if p.startswith("omni.")):
            return None
        return self._collect_omni()[0]

    def _tts_section_or_none(self) -> TtsSettings | None:
        if any(not f.is_valid() for p, f in self.number_fields.items() if p.startswith("tts.")):
            return None
        return self._collect_tts()

    def _apply_omni_section(self, section: OmniSettings | TtsSettings) -> None:
        if isinstance(section, OmniSettings):
            self._load_omni(section)
            self._update_capabilities()
            self._revalidate()

    def _apply_tts_section(self, section: OmniSettings | TtsSettings) -> None:
        if isinstance(section, TtsSettings):
            self._load_tts(section)
            self._update_capabilities()
            self._revalidate()

    # ================================================================== capabilities

    def _fill_omni_voices(self, model_changed: bool = False) -> None:
        # A saved custom voice is kept; after a model switch a voice the new model does not list
        # becomes its default voice (voice names are model-specific and refused by other models).
        combo = self._cb("omni.voice")
        caps = models.omni_capabilities(self._omni_model())
        current = combo.currentText().strip()
        combo.blockSignals(True)
        combo.clear()
        combo.addItems(list(caps.voices))
        keep_unlisted = not caps.voices_exhaustive and not (model_changed and caps.default_voice)
        if current and (current in caps.voices or keep_unlisted):
            combo.setCurrentText(current)
        else:
            combo.setCurrentText(caps.default_voice)
        combo.blockSignals(False)

    def _fill_tts_lists(self, model_changed: bool = False) -> None:
        caps = models.tts_capabilities(self._tts_model())
        voice = self._cb("tts.voice")
        current = voice.currentText().strip()
        voice.blockSignals(True)
        voice.clear()
        voice.addItems(list(caps.voices))
        keep_unlisted = not caps.voices_exhaustive and not (model_changed and caps.default_voice)
        if current and (current in caps.voices or keep_unlisted):
            voice.setCurrentText(current)
        else:
            voice.setCurrentText(caps.default_voice)
        voice.blockSignals(False)
        language = self._cb("tts.language_type")
        chosen = language.currentData()
        language.blockSignals(True)
        language.clear()
        for value in caps.languages:
            language.addItem(self._language_name(value), value)
        if not _select_data(language, chosen):
            _select_data(language, "Auto")
        language.blockSignals(False)

    @staticmethod
    def _language_name(value: str) -> str:
        names = {
            "Auto": lambda: translate("SettingsPanel", "Automatic"),
            "Chinese": lambda: translate("SettingsPanel", "Chinese"),
            "English": lambda: translate("SettingsPanel", "English"),
            "German": lambda: translate("SettingsPanel", "German"),
            "Italian": lambda: translate("SettingsPanel", "Italian"),
            "Portuguese": lambda: translate("SettingsPanel", "Portuguese"),
            "Spanish": lambda: translate("SettingsPanel", "Spanish"),
            "Japanese": lambda: translate("SettingsPanel", "Japanese"),
            "Korean": lambda: translate("SettingsPanel", "Korean"),
            "French": lambda: translate("SettingsPanel", "French"),
            "Russian": lambda: translate("SettingsPanel", "Russian"),
        }
        text = names.get(value)
        return f"{text()} ({value})" if text is not None and value != "Auto" else (text() if text else value)

    def _disable(self, path: str, reason: str | None) -> None:
        """Enable a control, or disable it with a tooltip saying why (reason)."""
        widget = self.controls[path]
        widget.setEnabled(reason is None)
        widget.setToolTip(reason or self._range_tooltip(path))
        label = self.labels.get(path)
        if label is not None:
            label.setEnabled(reason is None)
            label.setToolTip(reason or "")

    def _range_tooltip(self, path: str) -> str:
        allowed = self._probe_allowed(path)
        return fill(translate("SettingsPanel", "Allowed: %1"), allowed) if allowed else ""

    def _probe_allowed(self, path: str) -> str | None:
        """Ask the protocol's own validation for a field's allowed range (no ranges are copied here)."""
        model = self._omni_model() if path.startswith("omni.") else self._tts_model()
        key = (path, model)
        if key not in self._allowed_cache:
            self._allowed_cache[key] = self._probe_allowed_uncached(path)
        return self._allowed_cache[key]

    def _probe_allowed_uncached(self, path: str) -> str | None:
        section, _, name = path.partition(".")
        if section not in ("omni", "tts") or path not in self.number_fields:
            return None
        for probe in (10**12, -(10**12)):
            if section == "omni":
                omni = dataclasses.replace(OmniSettings(), **{name: probe})  # type: ignore[arg-type]
                if name == "idle_timeout_ms":
                    omni.vad_type = "server_vad"
                errors = omni_errors(omni, self._omni_model())
            else:
                tts = dataclasses.replace(TtsSettings(), **{name: probe})  # type: ignore[arg-type]
                if name == "bit_rate":
                    tts.response_format = "opus"
                errors = tts_errors(tts, self._tts_model())
            for error in errors:
                if error.field == path:
                    return error.allowed
        return None

    def _update_capabilities(self) -> None:
        omni_model = self._omni_model()
        tts_model = self._tts_model()
        omni = models.omni_capabilities(omni_model)
        tts = models.tts_capabilities(tts_model)

        def not_supported(model: str) -> str:
            return fill(translate("SettingsPanel", "Not supported by %1."), model)

        turn = self._cb("ui.turn_mode")
        _set_item_enabled(turn, 2, omni.supports_semantic_vad, not_supported(omni_model))
        if turn.currentData() == "semantic_vad" and not omni.supports_semantic_vad:
            turn.setCurrentIndex(1)
        vad_off = turn.currentData() == "off"
        off_reason = translate("SettingsPanel", "Only used with voice detection; push-to-talk is on.")
        for name in ("vad_threshold", "silence_duration_ms", "prefix_padding_ms"):
            self._disable(f"omni.{name}", off_reason if vad_off else None)
        idle_reason = None
        if not omni.supports_idle_timeout:
            idle_reason = not_supported(omni_model)
        elif vad_off:
            idle_reason = off_reason
        elif turn.currentData() != "server_vad":
            idle_reason = translate("SettingsPanel", "Only used with server_vad.")
        self._disable("omni.idle_timeout_ms", idle_reason)
        self._disable("omni.smooth_output", None if omni.supports_smooth_output else not_supported(omni_model))
        sampling_reason = (
            None
            if omni.honours_sampling
            else fill(translate("SettingsPanel", "%1 ignores sampling parameters."), omni_model)
        )
        for name in _OMNI_SAMPLING:
            self._disable(f"omni.{name}", sampling_reason)
        self._disable("omni.max_tokens", None)
        self._disable(
            "omni.input_transcription",
            None
            if omni.transcription_model
            else fill(translate("SettingsPanel", "%1 does not let clients choose input transcription."), omni_model),
        )

        fmt = self._cb("tts.response_format")
        for i in range(fmt.count()):
            _set_item_enabled(fmt, i, fmt.itemData(i) in tts.formats, not_supported(tts_model))
        if fmt.currentData() not in tts.formats:
            _select_data(fmt, tts.formats[0])
        rate = self._cb("tts.sample_rate")
        for i in range(rate.count()):
            _set_item_enabled(rate, i, rate.itemData(i) in tts.sample_rates, not_supported(tts_model))
        if rate.currentData() not in tts.sample_rates:
            _select_data(rate, 24000 if 24000 in tts.sample_rates else tts.sample_rates[0])
        for name in ("speech_rate", "volume", "pitch_rate"):
            self._disable(f"tts.{name}", None if tts.supports_prosody else not_supported(tts_model))
        if not tts.supports_bit_rate:
            bit_reason: str | None = not_supported(tts_model)
        elif fmt.currentData() != "opus":
            bit_reason = translate("SettingsPanel", "Only used with the Opus format.")
        else:
            bit_reason = None
        self._disable("tts.bit_rate", bit_reason)
        instruct_reason = (
            None
            if tts.supports_instructions
            else fill(
                translate(
                    "SettingsPanel",
                    "Only instruct models (e.g. qwen3-tts-instruct-flash-realtime) take instructions; %1 does not.",
                ),
                tts_model,
            )
        )
        self._disable("tts.instructions", instruct_reason)
        self._disable("tts.optimize_instructions", instruct_reason)

        region = self._cb("connection.region").currentData()
        url = self.url_edit
        # Named regions show their fixed endpoint read-only; the custom URL is kept aside meanwhile.
        shown = {"custom": self._custom_url, "offline": ""}.get(region, models.ENDPOINTS.get(region, ""))
        if url.text() != shown:
            was, self._loading = self._loading, True
            url.setText(shown)
            self._loading = was
        url.setReadOnly(region != "custom")
        url.setEnabled(region != "offline")
        url.setPlaceholderText(
            translate("SettingsPanel", "started by the app on 127.0.0.1")
            if region == "offline"
            else "wss://…/api-ws/v1/realtime"
        )

        services = self._services is not None
        for widget in (
            self.test_connection_button,
            self.preview_button,
            self.test_tone_button,
            self.refresh_devices_button,
            self.input_combo,
            self.output_combo,
        ):
            widget.setEnabled(services)
        if not services:
            reason = translate("SettingsPanel", "Available while the app is running.")
            for widget in (self.test_connection_button, self.preview_button, self.test_tone_button):
                widget.setToolTip(reason)
            self.audio_unavailable.show_notice(
                translate("SettingsPanel", "Audio devices can be chosen while the app is running."), "info"
            )
        else:
            self.audio_unavailable.clear()

    # ================================================================== validation

    def _format_error(self, error: SettingsError) -> str:
        value = error.value
        shown = f"{value:g}" if isinstance(value, float) else repr(value) if isinstance(value, str) else str(value)
        return fill(translate("SettingsPanel", "%1 is not allowed. Allowed: %2"), shown, _short_allowed(error.allowed))

    def errors(self) -> dict[str, str]:
        """Current problems by settings path (what blocks OK/Apply)."""
        found = {path: self._format_error(err) for path, err in self._errors.items()}
        for path, field in self.number_fields.items():
            if field.isEnabled() and not field.has_number():
                found[path] = field.error() or ""
        return found

    def _revalidate(self) -> None:
        settings = self.collect()
        self._errors = {}
        for error in validate(settings):
            path = error.field
            if path.startswith("presets["):
                continue  # presets are validated when saved or imported
            self._errors.setdefault(path, error)
        for path, field in self.number_fields.items():
            found = self._errors.get(path)
            field.set_external_error(self._format_error(found) if found is not None and field.isEnabled() else None)
        for path, label in self.error_labels.items():
            found = self._errors.get(path)
            label.show_message(self._format_error(found) if found is not None else None)
            widget = self.controls.get(path)
            if widget is not None:
                set_invalid(widget, found is not None)
        problems = self.errors()
        self._invalid_paths = sorted(problems)
        ok = not problems
        self.ok_button.setEnabled(ok)
        self.apply_button.setEnabled(ok)
        bad_tabs = frozenset(_tab_of(p) for p in problems)
        icon_key = (bad_tabs, self.palette().cacheKey())
        if icon_key != self._tab_icon_key:  # only redraw the tab icons when something changed
            self._tab_icon_key = icon_key
            for index, key in enumerate(TAB_KEYS):
                page = self._tab_pages[key]
                name = "warning" if key in bad_tabs else str(page.property("icon_name"))
                self.tabs.setTabIcon(index, icon(name, self.palette()))
        if problems:
            names = [self._field_title(p) for p in self._invalid_paths]
            self.show_notice(
                fill(translate("SettingsPanel", "Fix these fields before applying: %1"), ", ".join(names)), "error"
            )
            self._validation_notice = True
        elif self._validation_notice:
            self.notice.clear()
            self._validation_notice = False

    def _field_title(self, path: str) -> str:
        label = self.labels.get(path)
        text = label.text().rstrip(":：") if label is not None else path
        tab = self.tabs.tabText(TAB_KEYS.index(_tab_of(path)))
        return f"{tab} › {text}"

    def show_notice(self, text: str, severity: str = "info") -> None:
        """Show a message above the buttons (the controller may use it after an Apply, e.g. a reconnect)."""
        self._validation_notice = False
        self.notice.show_notice(text, severity)

    # ================================================================== change handling

    def _on_changed(self, *_: object) -> None:
        if self._loading:
            return
        self._update_capabilities()
        self._revalidate()

    def _remember_vad_type(self, _index: int) -> None:
        chosen = self._cb("ui.turn_mode").currentData()
        if chosen != "off":
            self._omni_vad_type = str(chosen)

    def _on_url_edited(self, text: str) -> None:
        if self._loading or self._cb("connection.region").currentData() != "custom":
            return
        self._custom_url = text.strip()
        self._on_changed()

    def _on_text_edited(self, value_changed: bool) -> None:
        # A changed number was handled by valueChanged; otherwise the text may have turned invalid
        # (e.g. "abc") or valid again, which must update Apply at once.
        if not self._loading and not value_changed:
            self._revalidate()

    def _on_model_changed(self, which: str) -> None:
        if self._loading:
            return
        self._loading = True
        try:
            if which == "omni":
                self._fill_omni_voices(model_changed=True)
            else:
                self._fill_tts_lists(model_changed=True)
        finally:
            self._loading = False
        self._on_changed()

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802
        super().changeEvent(event)
        if event.type() == QEvent.Type.LanguageChange:
            self._i18n.retranslate()
            self._loading = True
            try:
                self._fill_tts_lists()
            finally:
                self._loading = False
            self._update_capabilities()
            self._update_key_status()
            self.refresh_devices()
            self._revalidate()
        elif event.type() == QEvent.Type.PaletteChange:
            self._retint_icons()
            self._revalidate()  # re-tints the tab icons

    # ================================================================== apply / cancel

    def apply(self) -> bool:
        self._revalidate()
        if self._invalid_paths:
            return False
        settings = self.collect()
        problems = [e for e in validate(settings)]
        if problems:  # presets or anything not shown as a field
            self.show_notice(self._format_error(problems[0]) + f" ({problems[0].field})", "error")
            return False
        if not self._apply_key():
            return False
        if self._store is not None:
            try:
                self._store.save(settings)
            except OSError as exc:
                self.show_notice(
                    fill(translate("SettingsPanel", "The settings could not be saved: %1"), exc.strerror or str(exc)),
                    "error",
                )
                return False
        if self._themes is not None:
            self._themes.apply(settings.ui.theme)
        if self._languages is not None:
            self._languages.apply(settings.ui.language)
        self._original = settings.copy()
        self._work = settings.copy()
        self._book.presets = self._work.presets
        self.applied.emit(settings.copy())
        self.show_notice(translate("SettingsPanel", "Settings applied."), "ok")
        return True

    def accept(self) -> None:
        if self.apply() and not self.embedded:
            self._stop_monitoring()
            super().accept()

    def reject(self) -> None:
        # Nothing was written: the caller's settings, the file and the keyring stay as they were.
        # The fields go back to the applied values too, so reopening the dialog shows no stale edits.
        self._stop_monitoring()
        self._work = self._original.copy()
        self._book.presets = self._work.presets
        self._remove_key_requested = False
        self.key_edit.clear()
        self._load(self._work)
        self.omni_presets.refresh()
        self.tts_presets.refresh()
        self._revalidate()
        if self.embedded:
            self.show_notice(translate("SettingsPanel", "Changes discarded."), "info")
        else:
            super().reject()

    def is_dirty(self) -> bool:
        """True when the fields differ from the applied settings."""
        return self.collect() != self._original

    def set_settings(self, settings: AppSettings) -> None:
        """Settings changed elsewhere (the controller applied them, the echo self-test): show them.

        Fields the user is editing keep the edit; every other field follows, so an Apply never
        writes back a value that was current only when the form was filled.
        """
        if settings == self._original:
            return
        merged = carry_edits(self._original, self.collect(), settings)
        self._original = settings.copy()
        self._work = merged
        self._book.presets = self._work.presets
        self._load(self._work)
        self.omni_presets.refresh()
        self.tts_presets.refresh()
        self._revalidate()

    def follow_turn_mode(self, mode: str) -> None:
        """The turn mode changed outside the form (the toolbar): the form shows it from now on."""
        latest = self._original.copy()
        latest.ui.turn_mode = mode
        self.set_settings(latest)

    def closeEvent(self, event: Any) -> None:  # noqa: N802
        self._stop_monitoring()
        super().closeEvent(event)

    # ================================================================== API key

    def _on_key_edited(self, text: str) -> None:
        # Not registered with the log scrubber per keystroke (that would scrub every prefix); Apply
        # and Test connection register the finished key.
        if text:
            self._remove_key_requested = False
        self._update_key_status()

    def _request_key_removal(self) -> None:
        self._remove_key_requested = True
        self.key_edit.clear()
        self._update_key_status()

    def _on_plaintext_toggled(self, checked: bool) -> None:
        if not checked or self._loading:
            return
        status = self._key_status()
        path = str(status.plaintext_path) if status is not None else "?"
        answer = QMessageBox.warning(
            self,
            translate("SettingsPanel", "Store the key unencrypted?"),
            fill(
                translate(
                    "SettingsPanel",
                    "This machine has no keyring. The key will be written unencrypted to %1 (readable only by "
                    "your user account, but by every program you run). Setting DASHSCOPE_API_KEY in the "
                    "environment avoids this. Store it in the file?",
                ),
                path,
            ),
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        if answer != QMessageBox.StandardButton.Yes:
            self.plaintext_check.blockSignals(True)
            self.plaintext_check.setChecked(False)
            self.plaintext_check.blockSignals(False)
        self._update_key_status()

    def _key_status(self) -> ApiKeyStatus | None:
        return self._services.api_key_status() if self._services is not None else None

    def _update_key_status(self) -> None:
        key_status = self._key_status()
        self.error_labels["api_key"].show_message(None)
        if key_status is None:
            self.key_edit.setEnabled(False)
            self.remove_key_button.setEnabled(False)
            self.plaintext_check.hide()
            self.key_status.setText(translate("SettingsPanel", "Key storage is not available."))
            return
        status = key_status.keyring
        source = key_status.source
        stored_in = key_status.stored_in
        self.plaintext_check.setVisible(not status.available)
        self.remove_key_button.setEnabled(stored_in is not KeySource.NONE and not self._remove_key_requested)
        if self._remove_key_requested:
            self.key_edit.setPlaceholderText(translate("SettingsPanel", "The stored key will be forgotten on Apply"))
        elif stored_in is KeySource.PLAINTEXT_FILE:
            self.key_edit.setPlaceholderText(translate("SettingsPanel", "•••• stored in a private file"))
        elif stored_in is KeySource.KEYRING:
            self.key_edit.setPlaceholderText(translate("SettingsPanel", "•••• stored in the keyring"))
        elif source is KeySource.ENV:
            self.key_edit.setPlaceholderText(translate("SettingsPanel", "•••• from DASHSCOPE_API_KEY"))
        else:
            self.key_edit.setPlaceholderText(translate("SettingsPanel", "Paste your DashScope API key"))
        lines: list[str] = []
        if source is KeySource.ENV:
            lines.append(
                translate("SettingsPanel", "DASHSCOPE_API_KEY is set in the environment; it takes precedence.")
            )
        if status.available:
            lines.append(translate("SettingsPanel", "Keys are kept in the system keyring; they are never shown again."))
        else:
            lines.append(self._keyring_reason(status.kind, status.reason))
        if source is KeySource.NONE and not self.key_edit.text():
            lines.append(translate("SettingsPanel", "Without a key the app uses its built-in offline server."))
        self.key_status.setText(" ".join(lines))

    @staticmethod
    def _keyring_reason(kind: str, reason: str) -> str:
        texts = {
            "none": lambda: translate(
                "SettingsPanel",
                "This machine has no system keyring (Secret Service, KWallet, macOS Keychain or Windows "
                "Credential Manager). Set DASHSCOPE_API_KEY in the environment, or store the key in a "
                "private file below if you accept that risk.",
            ),
            "empty": lambda: translate("SettingsPanel", "The system keyring has no working backend."),
            "unusable": lambda: translate("SettingsPanel", "The system keyring is not usable."),
            "read_error": lambda: translate("SettingsPanel", "The system keyring could not be read."),
        }
        text = texts.get(kind)
        return text() if text is not None else fill(translate("SettingsPanel", "No keyring: %1"), reason)

    def _apply_key(self) -> bool:
        status = self._key_status()
        if status is None or self._services is None:
            return True
        text = self.key_edit.text().strip()
        try:
            if text:
                allow_file = self.plaintext_check.isChecked() and not status.keyring.available
                self._services.save_api_key(text, allow_plaintext_file=allow_file)
            elif self._remove_key_requested:
                self._services.clear_api_key()
        except SecretStoreError as exc:
            message = str(exc)
            self.error_labels["api_key"].show_message(message)
            self.tabs.setCurrentIndex(TAB_KEYS.index("connection"))
            self.show_notice(fill(translate("SettingsPanel", "The API key was not stored: %1"), message), "error")
            return False
        self._remove_key_requested = False
        self.key_edit.clear()
        self._update_key_status()
        return True

    # ================================================================== services (need the running app)

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> bool:
        try:
            task = asyncio.ensure_future(coro)
        except RuntimeError:
            coro.close()
            return False
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return True

    def test_connection(self) -> None:
        if self._services is None:
            return
        settings = self.collect()
        key = self.key_edit.text().strip() or None
        if key:
            register_secret(key)
        self.test_connection_button.setEnabled(False)
        self.connection_result.show_notice(translate("SettingsPanel", "Connecting…"), "info")
        url = settings.connection.endpoint_url()
        if not self._spawn(self._run_connection_test(url, settings.connection.omni_model, key)):
            self.test_connection_button.setEnabled(True)
            self.connection_result.show_notice(
                translate("SettingsPanel", "The app's event loop is not running."), "error"
            )

    async def _run_connection_test(self, url: str | None, model: str, key: str | None) -> None:
        assert self._services is not None
        try:
            result: ConnectionCheck = await self._services.test_connection(url, model, key)
        except Exception as exc:  # the service reports failures as results; anything else is shown too
            result = ConnectionCheck(False, str(exc) or type(exc).__name__)
        with contextlib.suppress(RuntimeError):  # the dialog may be gone
            self.test_connection_button.setEnabled(True)
            self.connection_result.show_notice(result.message, "ok" if result.ok else "error")

    def preview_voice(self) -> None:
        if self._services is None:
            return
        tts = self._tts_section_or_none()
        problems = tts_errors(tts, self._tts_model()) if tts is not None else []
        if tts is None or problems:
            self._set_preview_status(translate("SettingsPanel", "Fix the highlighted fields first."))
            return
        text = self.preview_text.text().strip()
        if not text:
            return
        self.preview_button.setEnabled(False)
        self._set_preview_status(translate("SettingsPanel", "Speaking…"))
        if not self._spawn(self._run_preview(self._tts_model(), tts, text)):
            self.preview_button.setEnabled(True)
            self._set_preview_status(translate("SettingsPanel", "The app's event loop is not running."))

    def _set_preview_status(self, text: str) -> None:
        self.preview_status.setText(text)
        self.preview_status.setVisible(bool(text))

    async def _run_preview(self, model: str, tts: TtsSettings, text: str) -> None:
        assert self._services is not None
        try:
            await self._services.preview_voice(model, tts, text)
        except Exception as exc:
            message = fill(translate("SettingsPanel", "Preview failed: %1"), str(exc) or type(exc).__name__)
        else:
            message = translate("SettingsPanel", "Done.")
        with contextlib.suppress(RuntimeError):
            self.preview_button.setEnabled(True)
            self._set_preview_status(message)

    def play_test_tone(self) -> None:
        if self._services is None:
            return
        device = self._cb("audio.output_device").currentData()
        volume = self.volume_slider.value()
        try:
            self._services.play_test_tone(device, volume)
        except Exception as exc:
            self.show_notice(fill(translate("SettingsPanel", "The test tone could not play: %1"), str(exc)), "error")

    def _update_echo_controls(self, *_: object) -> None:
        headphones = self._cb("audio.listening_setup").currentData() == "headphones"
        reason = translate("SettingsPanel", "With headphones the microphone cannot hear the assistant.")
        for path in ("audio.echo_cancellation", "audio.half_duplex"):
            self._disable(path, reason if headphones else None)

    def run_echo_self_test(self) -> None:
        """Measure the echo on the devices chosen here (the app's own streams pause meanwhile)."""
        if self._services is None:
            self.echo_test_result.show_notice(
                translate("SettingsPanel", "This build of the app cannot do that yet."), "error"
            )
            return
        self._echo_report = None
        self.apply_echo_button.setVisible(False)
        self.echo_test_button.setEnabled(False)
        self.echo_test_progress.setVisible(True)
        self.echo_test_result.show_notice(
            translate("SettingsPanel", "Playing a test sound and listening… (about 5 s)"), "info"
        )
        inputs = self._cb("audio.input_device").currentData()
        outputs = self._cb("audio.output_device").currentData()
        if not self._spawn(self._run_echo_test(self._services, inputs, outputs)):
            stopped = translate("SettingsPanel", "The app's event loop is not running.")
            self._echo_test_done(EchoTestReport(False, stopped))

    async def _run_echo_test(self, services: SettingsServices, input_device: str | None,
                             output_device: str | None) -> None:
        try:
            report = await services.run_echo_self_test(input_device, output_device)
        except Exception as exc:  # the service reports failures as results; anything else is shown too
            report = EchoTestReport(False, str(exc) or type(exc).__name__)
        with contextlib.suppress(RuntimeError):  # the dialog may be gone
            self._echo_test_done(report)

    def _echo_test_done(self, report: EchoTestReport) -> None:
        self.echo_test_button.setEnabled(True)
        self.echo_test_progress.setVisible(False)
        text = report.summary + (f" ({report.notice})" if report.notice else "")
        severity = "error" if not report.ok else "warning" if report.recommendation == "half-duplex" else "ok"
        self.echo_test_result.show_notice(text, severity)
        self._echo_report = report if report.ok else None
        current = self.collect().audio
        recommended = apply_echo_recommendation(current, report.recommendation) if report.ok else current
        self.apply_echo_button.setVisible(recommended != current)
        self.refresh_echo_status()

    def apply_echo_recommendation(self) -> bool:
        """Set the audio fields as the last self-test recommends and apply them."""
        report = self._echo_report
        if report is None:
            return False
        audio = apply_echo_recommendation(self.collect().audio, report.recommendation)
        _select_data(self._cb("audio.listening_setup"), audio.listening_setup)
        self._chk("audio.echo_cancellation").setChecked(audio.echo_cancellation)
        self._chk("audio.half_duplex").setChecked(audio.half_duplex)
        self.apply_echo_button.setVisible(False)
        return self.apply()

    def refresh_echo_status(self) -> None:
        """The echo line: what the capture path does now (polled while the Audio tab is open)."""
        state: EchoState | None = None
        if self._services is not None:
            with contextlib.suppress(Exception):
                state = self._services.echo_state()
        self.echo_status.setText(self._echo_status_text(state))

    @staticmethod
    def _echo_status_text(state: EchoState | None) -> str:
        if state is None:
            return translate("SettingsPanel", "No audio is running.")
        gate = translate("SettingsPanel", "; microphone muted while the assistant speaks") if state.half_duplex else ""
        if state.mode == "off":
            return translate("SettingsPanel", "Echo cancellation off") + gate
        if state.mode == "bypassed":
            return fill(translate("SettingsPanel", "Echo cancellation bypassed: %1"), state.notice or "") + gate
        backend = state.backend + (f" ({state.playing_from})" if state.playing_from != state.backend else "")
        delay = "—" if state.delay_ms is None else f"{state.delay_ms:.0f} ms"
        return fill(
            translate("SettingsPanel", "Cancelling with %1 · delay %2 · CPU %3 ms per 10 ms frame (p95 %4)"),
            backend, delay, f"{state.cpu_ms_p50:.2f}", f"{state.cpu_ms_p95:.2f}",
        ) + gate

    def refresh_devices(self) -> None:
        """Re-list devices (called every 2 s while the Audio tab is open: hot-plug aware)."""
        inputs: list[DeviceInfo] = []
        outputs: list[DeviceInfo] = []
        if self._services is not None:
            try:
                inputs = list(self._services.list_input_devices())
                outputs = list(self._services.list_output_devices())
            except Exception as exc:
                self.show_notice(
                    fill(translate("SettingsPanel", "Audio devices could not be listed: %1"), str(exc)), "error"
                )
        self._fill_devices(self.input_combo, inputs, self._work.audio.input_device)
        self._fill_devices(self.output_combo, outputs, self._work.audio.output_device)

    def _show_device(self, combo: QComboBox, identity: str | None) -> None:
        """Select a saved device; one that is not listed now stays selectable as "not connected"."""
        if combo.count() and not _select_data(combo, identity) and identity is not None:
            combo.addItem(fill(translate("SettingsPanel", "%1 (not connected)"), identity), identity)
            _select_data(combo, identity)

    def _fill_devices(self, combo: QComboBox, devices: list[DeviceInfo], saved: str | None) -> None:
        chosen = combo.currentData() if combo.count() else saved
        entries: list[tuple[str, str | None]] = [(translate("SettingsPanel", "System default"), None)]
        for device in devices:
            label = device.identity
            if device.is_default:
                label = fill(translate("SettingsPanel", "%1 (default)"), device.identity)
            entries.append((label, device.identity))
        if chosen is not None and all(identity != chosen for _, identity in entries):
            # Keep an unplugged device selectable, so the choice survives until it comes back.
            entries.append((fill(translate("SettingsPanel", "%1 (not connected)"), chosen), chosen))
        current = [(combo.itemText(i), combo.itemData(i)) for i in range(combo.count())]
        if current == entries:
            return
        was, self._loading = self._loading, True
        try:
            combo.clear()
            for label, identity in entries:
                combo.addItem(label, identity)
            _select_data(combo, chosen)
        finally:
            self._loading = was

    def _on_tab_changed(self, index: int) -> None:
        if TAB_KEYS[index] == "audio" and self.isVisible():
            self._start_monitoring()
        else:
            self._stop_monitoring()

    def showEvent(self, event: Any) -> None:  # noqa: N802
        super().showEvent(event)
        if TAB_KEYS[self.tabs.currentIndex()] == "audio":
            self._start_monitoring()

    def hideEvent(self, event: Any) -> None:  # noqa: N802
        self._stop_monitoring()
        super().hideEvent(event)

    def _start_monitoring(self) -> None:
        if self._services is None or self._mic_timer.isActive():
            return
        try:
            self._services.start_mic_monitor(self._cb("audio.input_device").currentData())
        except Exception as exc:
            self.show_notice(
                fill(translate("SettingsPanel", "The microphone could not be opened: %1"), str(exc)), "error"
            )
            return
        self.refresh_devices()
        self._mic_timer.start()
        self._device_timer.start()

    def _restart_mic_monitor(self, _index: int) -> None:
        # The level shown must be the chosen microphone's.
        if self._mic_timer.isActive() and not self._loading:
            self._stop_monitoring()
            self._start_monitoring()

    def _stop_monitoring(self) -> None:
        if not self._mic_timer.isActive():
            return
        self._mic_timer.stop()
        self._device_timer.stop()
        if self._services is not None:
            with contextlib.suppress(Exception):
                self._services.stop_mic_monitor()
        self.mic_meter.set_level_db(LevelMeter.FLOOR_DB)
        self.mic_level_label.setText("—")

    def _poll_mic_level(self) -> None:
        if self._services is None:
            return
        try:
            db = float(self._services.mic_level_db())
        except Exception:
            return
        self.mic_meter.set_level_db(db)
        self.mic_level_label.setText("—" if db <= LevelMeter.FLOOR_DB else f"{db:.0f} dBFS")


# ====================================================================== wiring to the running app


class ControllerServices:
    """:class:`SettingsServices` over the app controller: the form's names for what the controller does."""

    def __init__(self, controller: Controller) -> None:
        self._controller = controller

    def list_input_devices(self) -> list[DeviceInfo]:
        return self._device_infos(self._controller.device_lists()[0])

    def list_output_devices(self) -> list[DeviceInfo]:
        return self._device_infos(self._controller.device_lists()[1])

    @staticmethod
    def _device_infos(devices: list[Any]) -> list[DeviceInfo]:
        return [DeviceInfo(identity=str(d.identity), is_default=bool(d.is_default)) for d in devices]

    def play_test_tone(self, output_device: str | None, volume_percent: int) -> None:
        self._controller.play_test_tone(output_device, volume_percent)

    def start_mic_monitor(self, input_device: str | None) -> None:
        self._controller.start_mic_monitor(input_device)

    def stop_mic_monitor(self) -> None:
        self._controller.stop_mic_monitor()

    def mic_level_db(self) -> float:
        return float(self._controller.mic_level_dbfs())

    async def test_connection(self, url: str | None, model: str, api_key: str | None) -> ConnectionCheck:
        return cast(ConnectionCheck, await self._controller.test_connection(url, model, api_key))

    async def preview_voice(self, model: str, tts: TtsSettings, text: str) -> None:
        await self._controller.preview_voice(model, tts, text)

    async def run_echo_self_test(self, input_device: str | None, output_device: str | None) -> EchoTestReport:
        return cast(EchoTestReport, await self._controller.run_echo_self_test(input_device, output_device))

    def echo_state(self) -> EchoState | None:
        return cast(EchoState | None, self._controller.echo_state())

    def api_key_status(self) -> ApiKeyStatus | None:
        return cast(ApiKeyStatus | None, self._controller.api_key_status())

    def save_api_key(self, key: str, *, allow_plaintext_file: bool = False) -> None:
        self._controller.save_api_key(key, allow_plaintext_file=allow_plaintext_file)

    def clear_api_key(self) -> None:
        self._controller.clear_api_key()


def build_for_controller(controller: Controller) -> SettingsPanel:
    """The settings panel as a main-window tab, wired to the controller.

    Apply hands the settings to ``controller.apply_settings`` (which saves them and updates or
    reconnects the session); the panel follows ``controller.settings_changed``. The UI language
    and theme from the settings are applied here, so they hold from the first window on.
    """
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    themes = ThemeManager.current()
    if themes is None and isinstance(app, QApplication):
        themes = ThemeManager(app)
    languages = LanguageManager.current() or LanguageManager()
    settings = controller.settings or AppSettings()
    languages.apply(settings.ui.language)
    if themes is not None:
        themes.apply(settings.ui.theme)
    panel = SettingsPanel(
        settings, services=ControllerServices(controller), languages=languages, themes=themes, embedded=True
    )
    panel.applied.connect(controller.apply_settings)
    controller.settings_changed.connect(panel.set_settings)
    # The toolbar switches the turn mode without a settings_changed; the form must show it, or the
    # next Apply would switch back to what the form still showed.
    controller.mode_changed.connect(panel.follow_turn_mode)
    return panel
