"""Where each declared field sits: the five tabs of the settings form, their groups and grids.

The rows come from :class:`qwenvoice.ui.settings_form.SettingsForm` (one per field declaration);
this module only arranges them and adds the rows that are not settings (preset bars, preview, the
API key, connection check, echo self-test).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from qwenvoice.settings import fields
from qwenvoice.ui.i18n import Retranslator, translate
from qwenvoice.ui.settings_form import SettingsForm
from qwenvoice.ui.theme import icon
from qwenvoice.ui.widgets import ErrorLabel, LevelMeter, NoticeBar

if TYPE_CHECKING:
    from qwenvoice.ui.settings_panel import SettingsPanel

TAB_KEYS = ("conversation", "speech", "connection", "audio", "appearance")

# The Omni fields in the turn-taking and generation grids, in reading order (two pairs per line).
_VAD_GRID = ("omni.vad_threshold", "omni.silence_duration_ms", "omni.prefix_padding_ms", "omni.idle_timeout_ms")
_GENERATION_GRID = ("omni.temperature", "omni.top_p", "omni.top_k", "omni.max_tokens", "omni.repetition_penalty",
                    "omni.presence_penalty", "omni.seed")
_DELIVERY_GRID = ("tts.speech_rate", "tts.pitch_rate", "tts.volume")


def tab_of(key: str) -> str:
    """The tab that shows a field (where a problem with it is pointed out)."""
    section = key.split(".", 1)[0]
    if key == "connection.omni_model" or section == "omni" or key == "ui.turn_mode":
        return "conversation"
    if key == "connection.tts_model" or section == "tts":
        return "speech"
    return {"connection": "connection", "audio": "audio", "ui": "appearance"}.get(section, "conversation")


def icon_button(icon_name: str) -> QPushButton:
    button = QPushButton(icon(icon_name), "")
    button.setProperty("icon_name", icon_name)  # re-tinted when the theme changes
    return button


class TabBuilder:
    """Building blocks for the tabs: pages, titled groups, labelled rows, grids, hints."""

    def __init__(self, tabs: QTabWidget, form: SettingsForm, i18n: Retranslator) -> None:
        self.tabs = tabs
        self.form = form
        self.i18n = i18n
        self.pages: dict[str, QWidget] = {}

    def tab(self, key: str, icon_name: str, title: Callable[[], str]) -> QVBoxLayout:
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
        self.i18n.bind(functools.partial(self.tabs.setTabText, index), title)
        self.pages[key] = scroll
        return inner

    def group(self, page: QVBoxLayout, title: Callable[[], str]) -> QFormLayout:
        box = QGroupBox()
        self.i18n.bind(box.setTitle, title)
        form = QFormLayout(box)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.DontWrapRows)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        page.addWidget(box)
        return form

    def with_error(self, key: str, widget: QWidget, extra: QWidget | None = None) -> QWidget:
        """A control with an error line under it (number fields carry their own)."""
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
        self.form.error_labels[key] = error
        return box

    def row(self, form: QFormLayout, key: str, *, checked_error: bool = False) -> QWidget:
        """The declared field as a labelled row (with an error line when ``checked_error``)."""
        widget = self.form.control(key)
        shown = self.with_error(key, widget) if checked_error else widget
        if fields.field(key).label:
            form.addRow(self.form.label(key), shown)
        else:  # a check box that says it all
            form.addRow("", shown)
        return widget

    def number_grid(self, form: QFormLayout, keys: tuple[str, ...]) -> QGridLayout:
        """Two label+field pairs per line; each error line spans from its field into the next column,
        so a message with its allowed range fits on one line."""
        host = QWidget()
        grid = QGridLayout(host)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(12)
        for n, key in enumerate(keys):
            pair_row, col = divmod(n, 2)
            row = pair_row * 2
            label = self.form.label(key)
            label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            grid.addWidget(label, row, col * 2)
            self.form.control(key)
            field = self.form.number_fields[key]
            field.setMinimumWidth(200)
            grid.addWidget(field, row, col * 2 + 1)
            grid.addWidget(field.error_label, row + 1, col * 2 + 1, 1, 2)
        grid.setColumnStretch(4, 1)  # pairs stay together on the left; spare width goes to the end
        grid.setColumnMinimumWidth(2, 130)  # also widens the left error line, which spans into it
        grid.setVerticalSpacing(6)
        form.addRow(host)
        return grid

    def hint(self, form: QFormLayout, text: Callable[[], str]) -> QLabel:
        label = QLabel()
        label.setProperty("role", "hint")
        label.setWordWrap(True)
        self.i18n.bind(label.setText, text)
        form.addRow(label)
        return label

    def status_line(self, name: str = "") -> QLabel:
        label = QLabel()
        if name:
            label.setObjectName(name)
        label.setProperty("role", "hint")
        label.setWordWrap(True)
        return label


# ---------------------------------------------------------------------------------------- tabs


def build_conversation_tab(panel: SettingsPanel, build: TabBuilder) -> None:
    page = build.tab("conversation", "chat", lambda: translate("SettingsPanel", "Conversation"))
    panel.omni_presets = panel.preset_bar(page, "omni")

    form = build.group(page, lambda: translate("SettingsPanel", "Model and voice"))
    model = build.row(form, "connection.omni_model", checked_error=True)
    model.setMinimumWidth(300)
    build.row(form, "omni.voice", checked_error=True)
    build.row(form, "omni.modalities")
    instructions = build.row(form, "omni.instructions", checked_error=True)
    instructions.setMinimumHeight(72)
    instructions.setMaximumHeight(100)

    form = build.group(page, lambda: translate("SettingsPanel", "Turn taking"))
    build.row(form, "ui.turn_mode")
    build.number_grid(form, _VAD_GRID)
    build.row(form, "omni.input_transcription")

    form = build.group(page, lambda: translate("SettingsPanel", "Generation"))
    grid = build.number_grid(form, _GENERATION_GRID)
    style = build.form.control("omni.smooth_output")
    style_label = build.form.label("omni.smooth_output")
    style_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    grid.addWidget(style_label, 6, 2)  # beside "Seed", the 7th field
    grid.addWidget(style, 6, 3)
    build.hint(
        form,
        lambda: translate(
            "SettingsPanel", "Leave a field empty to use the model's default. Values are checked as you type."
        ),
    )
    page.addStretch(1)


def build_speech_tab(panel: SettingsPanel, build: TabBuilder) -> None:
    page = build.tab("speech", "studio", lambda: translate("SettingsPanel", "Speech"))
    panel.tts_presets = panel.preset_bar(page, "tts")

    form = build.group(page, lambda: translate("SettingsPanel", "Model and voice"))
    model = build.row(form, "connection.tts_model", checked_error=True)
    model.setMinimumWidth(300)
    build.row(form, "tts.voice", checked_error=True)
    build.row(form, "tts.language_type", checked_error=True)
    build.row(form, "tts.mode")

    form = build.group(page, lambda: translate("SettingsPanel", "Audio format"))
    build.row(form, "tts.response_format", checked_error=True)
    build.row(form, "tts.sample_rate", checked_error=True)
    build.row(form, "tts.bit_rate")

    form = build.group(page, lambda: translate("SettingsPanel", "Delivery"))
    build.number_grid(form, _DELIVERY_GRID)
    instructions = build.row(form, "tts.instructions", checked_error=True)
    instructions.setMinimumHeight(56)
    instructions.setMaximumHeight(84)
    build.row(form, "tts.optimize_instructions", checked_error=True)

    form = build.group(page, lambda: translate("SettingsPanel", "Preview"))
    panel.preview_text = QLineEdit()
    panel.preview_text.setObjectName("previewText")
    build.i18n.bind(
        panel.preview_text.setText,
        lambda: translate("SettingsPanel", "Hello! This is how I sound with these settings."),
    )
    panel.preview_button = icon_button("play")
    panel.preview_button.setObjectName("previewVoice")
    build.i18n.bind(panel.preview_button.setText, lambda: translate("SettingsPanel", "Preview voice"))
    panel.preview_button.clicked.connect(panel.preview_voice)
    row = QHBoxLayout()
    row.addWidget(panel.preview_text, 1)
    row.addWidget(panel.preview_button)
    form.addRow(build.form.label("preview", lambda: translate("SettingsPanel", "Sample:")), row)
    panel.preview_status = build.status_line()
    panel.preview_status.hide()
    form.addRow("", panel.preview_status)
    page.addStretch(1)


def build_connection_tab(panel: SettingsPanel, build: TabBuilder) -> None:
    page = build.tab("connection", "connection", lambda: translate("SettingsPanel", "Connection"))
    form = build.group(page, lambda: translate("SettingsPanel", "Server"))
    build.row(form, "connection.region")
    panel.url_edit = build.form.control("connection.custom_url")  # type: ignore[assignment]
    panel.url_edit.setPlaceholderText("wss://…/api-ws/v1/realtime")
    panel.url_edit.textChanged.connect(panel.on_url_edited)
    build.row(form, "connection.custom_url", checked_error=True)
    build.row(form, "connection.workspace_id", checked_error=True)
    build.hint(
        form,
        lambda: translate(
            "SettingsPanel",
            "Keys are per region: a Singapore key is refused in Beijing (HTTP 401) and the other way round.",
        ),
    )

    form = build.group(page, lambda: translate("SettingsPanel", "API key"))
    panel.key_section.build(form, build)

    form = build.group(page, lambda: translate("SettingsPanel", "Check"))
    panel.test_connection_button = icon_button("refresh")
    panel.test_connection_button.setObjectName("testConnection")
    build.i18n.bind(panel.test_connection_button.setText, lambda: translate("SettingsPanel", "Test connection"))
    panel.test_connection_button.clicked.connect(panel.test_connection)
    panel.connection_result = NoticeBar()
    panel.connection_result.setObjectName("connectionResult")
    row = QHBoxLayout()
    row.addWidget(panel.test_connection_button)
    row.addStretch(1)
    form.addRow(row)
    form.addRow(panel.connection_result)
    page.addStretch(1)


def build_audio_tab(panel: SettingsPanel, build: TabBuilder) -> None:
    page = build.tab("audio", "audio", lambda: translate("SettingsPanel", "Audio"))
    audio = panel.audio_tools
    panel.audio_unavailable = NoticeBar()
    page.addWidget(panel.audio_unavailable)

    form = build.group(page, lambda: translate("SettingsPanel", "Microphone"))
    panel.input_combo = build.form.combo("audio.input_device")
    panel.input_combo.currentIndexChanged.connect(audio.restart_mic_monitor)
    panel.refresh_devices_button = icon_button("refresh")
    panel.refresh_devices_button.setObjectName("refreshDevices")
    build.i18n.bind(
        panel.refresh_devices_button.setToolTip, lambda: translate("SettingsPanel", "Look for devices again")
    )
    panel.refresh_devices_button.clicked.connect(panel.refresh_devices)
    row = QHBoxLayout()
    row.addWidget(panel.input_combo, 1)
    row.addWidget(panel.refresh_devices_button)
    form.addRow(build.form.label("audio.input_device"), row)
    panel.mic_meter = LevelMeter()
    panel.mic_level_label = QLabel("—")
    panel.mic_level_label.setProperty("role", "hint")
    panel.mic_level_label.setMinimumWidth(70)
    row = QHBoxLayout()
    row.addWidget(panel.mic_meter, 1)
    row.addWidget(panel.mic_level_label)
    form.addRow(build.form.label("mic_level", lambda: translate("SettingsPanel", "Level:")), row)

    form = build.group(page, lambda: translate("SettingsPanel", "Playback"))
    panel.output_combo = build.form.combo("audio.output_device")
    panel.output_combo.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
    form.addRow(build.form.label("audio.output_device"), panel.output_combo)
    panel.volume_slider = build.form.control("audio.output_volume")  # type: ignore[assignment]
    panel.volume_label = QLabel()
    panel.volume_label.setMinimumWidth(44)
    panel.volume_slider.valueChanged.connect(lambda v: panel.volume_label.setText(f"{v} %"))
    panel.test_tone_button = icon_button("speaker")
    panel.test_tone_button.setObjectName("testTone")
    build.i18n.bind(panel.test_tone_button.setText, lambda: translate("SettingsPanel", "Test tone"))
    panel.test_tone_button.clicked.connect(panel.play_test_tone)
    row = QHBoxLayout()
    row.addWidget(panel.volume_slider, 1)
    row.addWidget(panel.volume_label)
    row.addWidget(panel.test_tone_button)
    form.addRow(build.form.label("audio.output_volume"), row)
    build.row(form, "audio.listening_setup")
    build.row(form, "audio.echo_cancellation")
    build.row(form, "audio.half_duplex")
    build_echo_group(panel, build, page)
    form = build.group(page, lambda: translate("SettingsPanel", "History"))
    build.row(form, "audio.keep_audio")
    build.hint(form, lambda: translate("SettingsPanel", "Applies from the next conversation."))
    page.addStretch(1)


def build_echo_group(panel: SettingsPanel, build: TabBuilder, page: QVBoxLayout) -> None:
    form = build.group(page, lambda: translate("SettingsPanel", "Echo"))
    panel.echo_test_button = icon_button("speaker")
    panel.echo_test_button.setObjectName("echoSelfTest")
    build.i18n.bind(panel.echo_test_button.setText, lambda: translate("SettingsPanel", "Run echo self-test"))
    panel.echo_test_button.clicked.connect(panel.run_echo_self_test)
    panel.echo_test_progress = QProgressBar()
    panel.echo_test_progress.setObjectName("echoTestProgress")
    panel.echo_test_progress.setRange(0, 0)  # busy: the test takes about five seconds
    panel.echo_test_progress.setMaximumWidth(160)
    panel.echo_test_progress.setVisible(False)
    row = QHBoxLayout()
    row.addWidget(panel.echo_test_button)
    row.addWidget(panel.echo_test_progress)
    row.addStretch(1)
    form.addRow(row)
    build.hint(
        form,
        lambda: translate(
            "SettingsPanel",
            "Plays a short noise through the chosen output and listens with the chosen microphone, "
            "then suggests how to talk: over the speakers with echo cancellation, or with the "
            "microphone muted while the assistant speaks.",
        ),
    )
    panel.echo_test_result = NoticeBar()
    panel.echo_test_result.setObjectName("echoTestResult")
    form.addRow(panel.echo_test_result)
    panel.apply_echo_button = QPushButton()
    panel.apply_echo_button.setObjectName("applyEchoRecommendation")
    build.i18n.bind(panel.apply_echo_button.setText, lambda: translate("SettingsPanel", "Use the recommendation"))
    panel.apply_echo_button.clicked.connect(panel.apply_echo_recommendation)
    panel.apply_echo_button.setVisible(False)
    row = QHBoxLayout()
    row.addWidget(panel.apply_echo_button)
    row.addStretch(1)
    form.addRow(row)
    panel.echo_status = build.status_line("echoStatus")
    form.addRow(build.form.label("echo_status", lambda: translate("SettingsPanel", "Now:")), panel.echo_status)


def build_appearance_tab(panel: SettingsPanel, build: TabBuilder) -> None:
    page = build.tab("appearance", "appearance", lambda: translate("SettingsPanel", "Appearance"))
    form = build.group(page, lambda: translate("SettingsPanel", "Look and language"))
    build.row(form, "ui.language")
    build.row(form, "ui.theme")
    build.hint(
        form,
        lambda: translate(
            "SettingsPanel",
            "Both change as soon as you apply. “Follow the system” uses your desktop's language and its "
            "light or dark setting, and keeps following it.",
        ),
    )
    page.addStretch(1)
