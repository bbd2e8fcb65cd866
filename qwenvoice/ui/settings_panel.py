"""The settings dialog: every ``session.update`` field, validated inline, plus connection, audio, look.

Tabs: Conversation (Omni), Speech (TTS), Connection, Audio, Appearance. The rows are generated from
the field declarations (``qwenvoice.settings.fields``, through ``settings_form``) and arranged by
``settings_tabs``. The dialog edits a copy of the settings; **Apply** validates, hands a typed API key
to the settings services, writes the settings file (when it was given a store) and emits
``applied(AppSettings)`` (the controller saves, then sends ``session.update`` or reconnects); **OK**
is Apply + close; **Cancel** discards everything, presets included. Settings changed elsewhere
(``set_settings``, ``follow_turn_mode``) are followed at once; fields being edited keep the edit.

Validation is the protocol's own (one pass of ``fields.problems_by_field`` per change): an
out-of-range value gets a red border and a message with the value and the allowed range under the
field, and OK/Apply stay disabled while anything is wrong. Fields the chosen model does not support
are disabled, with a tooltip that says why. Everything that needs the running app (device lists,
mic level, test tone, test connection, voice preview, the keyring) goes through the injected
:class:`qwenvoice.settings.services.SettingsServices`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Sequence
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QCloseEvent, QHideEvent, QShowEvent
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSlider,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from qwenvoice.settings import fields
from qwenvoice.settings.changes import carry_edits
from qwenvoice.settings.coerce import LoadNotice
from qwenvoice.settings.presets import PresetBook
from qwenvoice.settings.schema import (
    AppSettings,
    AudioSettings,
    OmniSettings,
    SettingsError,
    TtsSettings,
    validate,
)
from qwenvoice.settings.services import EchoTestReport, SettingsServices
from qwenvoice.settings.store import SettingsStore
from qwenvoice.ui.i18n import LanguageManager, Retranslator, fill, translate
from qwenvoice.ui.presets import PresetBar
from qwenvoice.ui.settings_audio import AudioTools
from qwenvoice.ui.settings_checks import ServiceChecks
from qwenvoice.ui.settings_form import SettingsForm, format_error
from qwenvoice.ui.settings_key import ApiKeySection
from qwenvoice.ui.settings_tabs import (
    TAB_KEYS,
    TabBuilder,
    build_appearance_tab,
    build_audio_tab,
    build_connection_tab,
    build_conversation_tab,
    build_speech_tab,
    tab_of,
)
from qwenvoice.ui.settings_wiring import ControllerServices
from qwenvoice.ui.theme import ThemeManager, app_icon, icon
from qwenvoice.ui.widgets import LevelMeter, NoticeBar

if TYPE_CHECKING:
    from qwenvoice.app.controller import Controller

NOTICE_FADE_MS = 6000  # how long "Settings applied." and other informational notices stay

__all__ = ["TAB_KEYS", "ControllerServices", "SettingsPanel", "build_for_controller"]


class SettingsPanel(QDialog):
    """The settings dialog. ``applied`` carries a validated copy of the new settings."""

    applied = Signal(object)  # AppSettings

    # Made by the tab builders (settings_tabs); named here so users of the panel can rely on them.
    omni_presets: PresetBar
    tts_presets: PresetBar
    preview_text: QLineEdit
    preview_button: QPushButton
    preview_status: QLabel
    url_edit: QLineEdit
    test_connection_button: QPushButton
    connection_result: NoticeBar
    audio_unavailable: NoticeBar
    input_combo: QComboBox
    output_combo: QComboBox
    refresh_devices_button: QPushButton
    mic_meter: LevelMeter
    mic_level_label: QLabel
    volume_slider: QSlider
    volume_label: QLabel
    test_tone_button: QPushButton
    echo_test_button: QPushButton
    echo_test_progress: QProgressBar
    echo_test_result: NoticeBar
    apply_echo_button: QPushButton
    echo_status: QLabel

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
        self._tasks: set[asyncio.Future[object]] = set()
        self._errors: dict[str, SettingsError] = {}
        self._invalid_paths: list[str] = []
        self._validation_notice = False
        self._tab_icon_key: tuple[frozenset[str], int] | None = None
        self.form = SettingsForm(self._i18n, self._on_changed, self._on_text_edited)
        self.form.loading = True  # no change handling until every widget exists
        # path -> widget; labels by path; error labels for widgets that are not NumberFields
        self.controls = self.form.controls
        self.labels = self.form.labels
        self.number_fields = self.form.number_fields
        self.error_labels = self.form.error_labels

        self.setWindowIcon(app_icon())
        self._i18n.bind(self.setWindowTitle, lambda: translate("SettingsPanel", "Settings — qwenvoice"))
        if not embedded:  # as a tab, the main window sets the size; the tab pages scroll
            self.setMinimumSize(680, 520)
            self.resize(860, 660)
        self._build_tabs()
        self._build_buttons()
        self._loading_done()
        if notices:
            # What the settings file could not give us (damaged file, out-of-range values) is said once.
            text = fill(
                translate("SettingsPanel", "Some saved settings could not be used: %1"), "; ".join(map(str, notices))
            )
            self.show_notice(text, "warning")

    def _build_tabs(self) -> None:
        self.tabs = QTabWidget(self)
        self.tabs.setObjectName("settingsTabs")
        self.tabs.setDocumentMode(False)
        self.key_section = ApiKeySection(self._services, self, self._show_key_problem)
        self.audio_tools = AudioTools(self, self._services)
        self.checks = ServiceChecks(self, self._services)
        build = TabBuilder(self.tabs, self.form, self._i18n)
        for build_tab in (build_conversation_tab, build_speech_tab, build_connection_tab, build_audio_tab,
                          build_appearance_tab):
            build_tab(self, build)
        self._tab_pages = build.pages
        self.key_edit = self.key_section.edit
        self.remove_key_button = self.key_section.remove_button
        self.key_status = self.key_section.status_label
        self.plaintext_check = self.key_section.plaintext_check
        self.tabs.currentChanged.connect(self._on_tab_changed)
        turn = self.form.combo("ui.turn_mode")
        turn.currentIndexChanged.connect(self._remember_vad_type)
        for kind in ("omni", "tts"):
            model = self.form.combo(f"connection.{kind}_model")
            model.currentTextChanged.connect(lambda _text, which=kind: self._on_model_changed(which))

    def _build_buttons(self) -> None:
        self.notice = NoticeBar(self, closable=True, auto_hide_ms=NOTICE_FADE_MS)
        self.notice.setObjectName("settingsNotice")
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok
            | QDialogButtonBox.StandardButton.Apply
            | QDialogButtonBox.StandardButton.Cancel,
            self,
        )
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setVisible(not self.embedded)
        self.apply_button = self.buttons.button(QDialogButtonBox.StandardButton.Apply)
        self.cancel_button = self.buttons.button(QDialogButtonBox.StandardButton.Cancel)
        self.ok_button.clicked.connect(self.accept)
        self.apply_button.clicked.connect(self.apply)
        self.cancel_button.clicked.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(self.notice)
        layout.addWidget(self.buttons)

    def _loading_done(self) -> None:
        for path, label in self.labels.items():
            # A label names its field for screen readers and focuses it when clicked.
            if path in self.controls:
                label.setBuddy(self.controls[path])
        self.form.loading = False
        self._load(self._work)
        self.key_section.update_status()
        self.refresh_devices()
        self._revalidate()

    def preset_bar(self, page: QVBoxLayout, kind: str) -> PresetBar:
        """The preset bar of the Omni or TTS tab: saves and loads that section of the form."""
        if kind == "omni":
            bar = PresetBar(kind, self._book, self._omni_section_or_none, self.form.omni_model, self._apply_section)
        else:
            bar = PresetBar(kind, self._book, self.tts_section_or_none, self.form.tts_model, self._apply_section)
        bar.presetsChanged.connect(self._on_changed)
        bar.message.connect(self.show_notice)
        page.addWidget(bar)
        return bar

    # ================================================================== settings <-> widgets

    def _load(self, settings: AppSettings) -> None:
        self.form.show(settings)
        self.volume_label.setText(f"{settings.audio.output_volume} %")
        self._update_capabilities()

    def collect(self) -> AppSettings:
        """The settings as currently shown (may be invalid; see ``errors()``)."""
        settings = self._work.copy()
        self.form.read_into(settings)
        return settings

    def original(self) -> AppSettings:
        """The settings as last applied (or as given, if nothing was applied)."""
        return self._original.copy()

    def saved_audio(self) -> AudioSettings:
        return self._work.audio

    # presets glue
    def _omni_section_or_none(self) -> OmniSettings | None:
        return self.collect().omni if self.form.numbers_valid("omni") else None

    def tts_section_or_none(self) -> TtsSettings | None:
        return self.collect().tts if self.form.numbers_valid("tts") else None

    def _apply_section(self, section: OmniSettings | TtsSettings) -> None:
        shown = self.collect()
        name = "omni" if isinstance(section, OmniSettings) else "tts"
        setattr(shown, name, section)
        self.form.show(shown, (name,))
        self._update_capabilities()
        self._revalidate()

    # ================================================================== capabilities

    def _update_capabilities(self) -> None:
        was, self.form.loading = self.form.loading, True
        try:
            self.form.offer_choices(self.collect())
        finally:
            self.form.loading = was
        settings = self.collect()
        self.form.switch_fields(settings)
        self._show_endpoint(settings.connection.region, settings.connection.workspace_id)
        self._switch_app_services()

    def _show_endpoint(self, region: str, workspace: str = "") -> None:
        # Named regions show their fixed endpoint (their workspace's, when one is set) read-only; the
        # custom URL is kept aside meanwhile.
        from qwenvoice.protocol import models

        url = self.url_edit
        workspace = workspace.strip()
        if region in models.WORKSPACE_HOST_REGIONS and workspace and models.is_workspace_id(workspace):
            shown = models.workspace_url(workspace, region)
        else:
            shown = {"custom": self.form.custom_url, "offline": ""}.get(region, models.ENDPOINTS.get(region, ""))
        if url.text() != shown:
            was, self.form.loading = self.form.loading, True
            url.setText(shown)
            self.form.loading = was
        url.setReadOnly(region != "custom")
        url.setEnabled(region != "offline")
        url.setPlaceholderText(
            translate("SettingsPanel", "started by the app on 127.0.0.1")
            if region == "offline"
            else "wss://…/api-ws/v1/realtime"
        )

    def _switch_app_services(self) -> None:
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

    def errors(self) -> dict[str, str]:
        """Current problems by settings path (what blocks OK/Apply)."""
        return self.form.blocking(self._errors)

    def _revalidate(self) -> None:
        self._errors = fields.problems_by_field(self.collect())
        problems = self.form.show_problems(self._errors)
        # In the order the form shows them (tab by tab, top to bottom), not alphabetically.
        shown = {path: i for i, path in enumerate(self.controls)}
        self._invalid_paths = sorted(problems, key=lambda p: (TAB_KEYS.index(tab_of(p)), shown.get(p, len(shown)), p))
        ok = not problems
        self.ok_button.setEnabled(ok)
        self.apply_button.setEnabled(ok)
        bad_tabs = frozenset(tab_of(p) for p in problems)
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
        tab = self.tabs.tabText(TAB_KEYS.index(tab_of(path)))
        return f"{tab} › {text}"

    def show_notice(self, text: str, severity: str = "info") -> None:
        """Show a message above the buttons (the controller may use it after an Apply, e.g. a reconnect)."""
        self._validation_notice = False
        self.notice.show_notice(text, severity)

    # ================================================================== change handling

    def _on_changed(self, *_: object) -> None:
        if self.form.loading:
            return
        self._update_capabilities()
        self._revalidate()

    def _remember_vad_type(self, _index: int) -> None:
        chosen = self.form.combo("ui.turn_mode").currentData()
        if chosen != "off":
            self.form.omni_vad_type = str(chosen)

    def on_url_edited(self, text: str) -> None:
        if self.form.loading or self.form.combo("connection.region").currentData() != "custom":
            return
        self.form.custom_url = text.strip()
        self._on_changed()

    def _on_text_edited(self, value_changed: bool) -> None:
        # A changed number was handled by valueChanged; otherwise the text may have turned invalid
        # (e.g. "abc") or valid again, which must update Apply at once.
        if not self.form.loading and not value_changed:
            self._revalidate()

    def _on_model_changed(self, which: str) -> None:
        if self.form.loading:
            return
        self.form.loading = True
        try:
            if which == "omni":
                self.form.fill_omni_voices(model_changed=True)
            else:
                self.form.fill_tts_lists(model_changed=True)
        finally:
            self.form.loading = False
        self._on_changed()

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802
        super().changeEvent(event)
        if event.type() == QEvent.Type.LanguageChange:
            self._i18n.retranslate()
            self.form.loading = True
            try:
                self.form.fill_tts_lists()
            finally:
                self.form.loading = False
            self._update_capabilities()
            self.key_section.update_status()
            self.refresh_devices()
            self._revalidate()
        elif event.type() == QEvent.Type.PaletteChange:
            self._retint_icons()
            self._revalidate()  # re-tints the tab icons

    def _retint_icons(self) -> None:
        for button in self.findChildren(QPushButton):
            name = button.property("icon_name")
            if name:
                button.setIcon(icon(str(name), self.palette()))

    # ================================================================== apply / cancel

    def apply(self) -> bool:
        self._revalidate()
        if self._invalid_paths:
            return False
        settings = self.collect()
        if self._book.presets:  # presets are the one thing not checked field by field
            problems = [e for e in validate(settings) if e.field.startswith("presets[")]
            if problems:
                self.show_notice(format_error(problems[0]) + f" ({problems[0].field})", "error")
                return False
        if not self.key_section.hand_over():
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
            self.audio_tools.stop_monitoring()
            super().accept()

    def reject(self) -> None:
        # Nothing was written: the caller's settings, the file and the keyring stay as they were.
        # The fields go back to the applied values too, so reopening the dialog shows no stale edits.
        self.audio_tools.stop_monitoring()
        self.key_section.reset()
        self._show_settings(self._original.copy())
        if self.embedded:
            self.show_notice(translate("SettingsPanel", "Changes discarded."), "info")
        else:
            super().reject()

    def _show_settings(self, work: AppSettings) -> None:
        self._work = work
        self._book.presets = self._work.presets
        self._load(self._work)
        self.omni_presets.refresh()
        self.tts_presets.refresh()
        self._revalidate()

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
        self._show_settings(merged)

    def follow_turn_mode(self, mode: str) -> None:
        """The turn mode changed outside the form (the toolbar): the form shows it from now on."""
        latest = self._original.copy()
        latest.ui.turn_mode = mode
        self.set_settings(latest)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        self.audio_tools.stop_monitoring()
        super().closeEvent(event)

    def _show_key_problem(self, message: str) -> None:
        self.show_api_key()
        self.show_notice(message, "error")

    def show_api_key(self) -> None:
        """Open the Connection tab with the API key field in view and focused ("Add a key…")."""
        self.tabs.setCurrentIndex(TAB_KEYS.index("connection"))
        self.key_edit.setFocus(Qt.FocusReason.OtherFocusReason)
        scroll = self._tab_pages.get("connection")
        if isinstance(scroll, QScrollArea):
            scroll.ensureWidgetVisible(self.key_edit)

    # ================================================================== services (need the running app)

    def spawn(self, coro: Coroutine[object, object, object]) -> bool:
        try:
            task = asyncio.ensure_future(coro)
        except RuntimeError:
            coro.close()
            return False
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return True

    def test_connection(self) -> None:
        self.checks.test_connection()

    def preview_voice(self) -> None:
        self.checks.preview_voice()

    # the Audio tab's live parts (settings_audio)
    def refresh_devices(self) -> None:
        self.audio_tools.refresh_devices()

    def refresh_echo_status(self) -> None:
        self.audio_tools.refresh_echo_status()

    def play_test_tone(self) -> None:
        self.audio_tools.play_test_tone()

    def run_echo_self_test(self) -> None:
        self.audio_tools.run_echo_self_test()

    def apply_echo_recommendation(self) -> bool:
        """Set the audio fields as the last self-test recommends and apply them."""
        return self.audio_tools.recommended_audio_shown() and self.apply()

    @property
    def _echo_report(self) -> EchoTestReport | None:
        return self.audio_tools.echo_report

    def _on_tab_changed(self, index: int) -> None:
        if TAB_KEYS[index] == "audio" and self.isVisible():
            self.audio_tools.start_monitoring()
        else:
            self.audio_tools.stop_monitoring()

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802
        super().showEvent(event)
        if TAB_KEYS[self.tabs.currentIndex()] == "audio":
            self.audio_tools.start_monitoring()

    def hideEvent(self, event: QHideEvent) -> None:  # noqa: N802
        self.audio_tools.stop_monitoring()
        super().hideEvent(event)


def build_for_controller(controller: Controller) -> SettingsPanel:
    """The settings panel as a main-window tab, wired to the controller.

    Apply hands the settings to ``controller.apply_settings`` (which saves them and updates or
    reconnects the session); the panel follows ``controller.settings_changed`` and the toolbar's
    ``mode_changed``. The UI language and theme from the settings are applied here, so they hold
    from the first window on.
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
