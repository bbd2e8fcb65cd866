"""The settings form's rows, generated from the field declarations in ``qwenvoice.settings.fields``.

:class:`SettingsForm` makes one control per declared field (its object name is the field key), binds
the declared label for translation, shows settings in the controls and reads them back, switches
fields off with the declared reason, and shows validation problems under the fields. Where a row sits
(tab, group, grid) is the tab modules' business (``settings_tabs``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import cast

from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtGui import QStandardItemModel
from PySide6.QtWidgets import QCheckBox, QComboBox, QLabel, QLineEdit, QPlainTextEdit, QSlider, QWidget

from qwenvoice.protocol import models
from qwenvoice.settings import fields
from qwenvoice.settings.fields import Control, FieldSpec, Unavailable
from qwenvoice.settings.schema import AppSettings, SettingsError, SettingValue
from qwenvoice.ui.i18n import Retranslator, fill, translate
from qwenvoice.ui.widgets import ErrorLabel, NumberField, set_invalid

_ALLOWED_DISPLAY_LIMIT = 140
ALL_SECTIONS = ("connection", "omni", "tts", "audio", "ui")


def declared_text(text: str) -> str:
    """A label or help text from the field declarations, in the current UI language."""
    return QCoreApplication.translate(fields.TRANSLATION_CONTEXT, text)


def select_data(combo: QComboBox, data: object) -> bool:
    for i in range(combo.count()):
        if combo.itemData(i) == data:
            combo.setCurrentIndex(i)
            return True
    return False


# A control shows the value its field is declared with; a value of another type is a bug.
def _text(value: SettingValue) -> str:
    if isinstance(value, str):
        return value
    raise TypeError(f"a text control cannot show {value!r}")


def _number(value: SettingValue) -> int | float | None:
    if isinstance(value, str | tuple):
        raise TypeError(f"a number field cannot show {value!r}")
    return value


def _whole(value: SettingValue) -> int:
    if isinstance(value, int | float):
        return int(value)
    raise TypeError(f"a slider cannot show {value!r}")


def set_item_enabled(combo: QComboBox, index: int, enabled: bool, tooltip: str = "") -> None:
    model = combo.model()
    if isinstance(model, QStandardItemModel):
        item = model.item(index)
        if item is not None:
            item.setEnabled(enabled)
            item.setToolTip("" if enabled else tooltip)


def short_allowed(allowed: str) -> str:
    if len(allowed) <= _ALLOWED_DISPLAY_LIMIT:
        return allowed
    return allowed[: _ALLOWED_DISPLAY_LIMIT - 1].rsplit(",", 1)[0] + ", …"


def format_error(error: SettingsError) -> str:
    value = error.value
    shown = f"{value:g}" if isinstance(value, float) else repr(value) if isinstance(value, str) else str(value)
    return fill(translate("SettingsPanel", "%1 is not allowed. Allowed: %2"), shown, short_allowed(error.allowed))


def reason_text(refusal: Unavailable | None) -> str | None:
    """Why a field is off, in the UI language (None: it is on)."""
    if refusal is None:
        return None
    model = refusal.model
    texts: dict[str, Callable[[], str]] = {
        fields.REASON_NOT_SUPPORTED: lambda: fill(translate("SettingsPanel", "Not supported by %1."), model),
        fields.REASON_PUSH_TO_TALK: lambda: translate(
            "SettingsPanel", "Only used with voice detection; push-to-talk is on."
        ),
        fields.REASON_SERVER_VAD_ONLY: lambda: translate("SettingsPanel", "Only used with server_vad."),
        fields.REASON_IGNORES_SAMPLING: lambda: fill(
            translate("SettingsPanel", "%1 ignores sampling parameters."), model
        ),
        fields.REASON_NO_TRANSCRIPTION_CHOICE: lambda: fill(
            translate("SettingsPanel", "%1 does not let clients choose input transcription."), model
        ),
        fields.REASON_OPUS_ONLY: lambda: translate("SettingsPanel", "Only used with the Opus format."),
        fields.REASON_INSTRUCT_ONLY: lambda: fill(
            translate(
                "SettingsPanel",
                "Only instruct models (e.g. qwen3-tts-instruct-flash-realtime) take instructions; %1 does not.",
            ),
            model,
        ),
        fields.REASON_HEADPHONES: lambda: translate(
            "SettingsPanel", "With headphones the microphone cannot hear the assistant."
        ),
    }
    return texts[refusal.reason]()


class SettingsForm:
    """The controls of every declared field, by key, and the mapping between them and settings."""

    def __init__(self, i18n: Retranslator, on_changed: Callable[..., None], on_text_edited: Callable[[bool], None]):
        self._i18n = i18n
        self._on_changed = on_changed
        self._on_text_edited = on_text_edited
        self.loading = False  # True while settings are put into the controls (no change handling)
        self.controls: dict[str, QWidget] = {}
        self.labels: dict[str, QLabel] = {}
        self.number_fields: dict[str, NumberField] = {}
        self.error_labels: dict[str, ErrorLabel] = {}
        self.custom_url = ""  # kept while a named region shows its fixed endpoint
        self.omni_vad_type = "server_vad"  # kept while push-to-talk hides the VAD type

    # ------------------------------------------------------------------ rows

    def label(self, key: str, text: Callable[[], str] | None = None) -> QLabel:
        """The row label of a field (or of a non-field row such as "api_key") for translation."""
        label = QLabel()
        spec = fields.BY_KEY.get(key)
        self._i18n.bind(label.setText, text or (lambda: declared_text(spec.label if spec else key)))
        self.labels[key] = label
        return label

    def control(self, key: str) -> QWidget:
        """The control for a declared field, made once from its declaration."""
        if key in self.controls:
            return self.controls[key]
        spec = fields.field(key)
        maker = {
            Control.NUMBER: self._number,
            Control.CHOICE: self._choice,
            Control.TURN_MODE: self._choice,
            Control.DEVICE: self._choice,
            Control.EDITABLE_CHOICE: self._editable_choice,
            Control.CHECK: self._check,
            Control.TEXT: self._text_box,
            Control.LINE: self._line,
            Control.SLIDER: self._slider,
        }[spec.control]
        widget = maker(spec)
        widget.setObjectName(key)
        self.controls[key] = widget
        return widget

    def _number(self, spec: FieldSpec) -> NumberField:
        field = NumberField(cast(type[int] | type[float], spec.kind), optional=spec.optional)
        field.setMaximumWidth(260)
        if spec.optional:
            self._i18n.bind(field.setPlaceholderText, lambda: translate("SettingsPanel", "model default"))
        field.valueChanged.connect(self._on_changed)
        field.edited.connect(self._on_text_edited)
        self.number_fields[spec.key] = field
        return field

    def _choice(self, spec: FieldSpec) -> QComboBox:
        combo = QComboBox()
        combo.setMinimumContentsLength(12)
        for choice in spec.choices:
            combo.addItem(choice.label if not choice.translated else "", choice.item_data)
            if choice.translated:
                self._i18n.bind(
                    functools.partial(combo.setItemText, combo.count() - 1),
                    functools.partial(declared_text, choice.label),
                )
        combo.currentIndexChanged.connect(self._on_changed)
        return combo

    def _editable_choice(self, spec: FieldSpec) -> QComboBox:
        combo = QComboBox()
        combo.setEditable(True)
        combo.setMinimumContentsLength(12)
        combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        combo.addItems([str(choice.value) for choice in spec.choices])
        combo.editTextChanged.connect(self._on_changed)
        combo.currentIndexChanged.connect(self._on_changed)
        return combo

    def _check(self, spec: FieldSpec) -> QCheckBox:
        box = QCheckBox()
        self._i18n.bind(box.setText, functools.partial(declared_text, spec.text))
        box.toggled.connect(self._on_changed)
        return box

    def _text_box(self, spec: FieldSpec) -> QPlainTextEdit:
        box = QPlainTextEdit()
        box.setTabChangesFocus(True)
        self._i18n.bind(box.setPlaceholderText, functools.partial(declared_text, spec.help))
        box.textChanged.connect(self._on_changed)
        return box

    def _line(self, spec: FieldSpec) -> QLineEdit:
        line = QLineEdit()
        if spec.help:
            self._i18n.bind(line.setPlaceholderText, functools.partial(declared_text, spec.help))
        if spec.key != "connection.custom_url":  # the URL row follows the region (the panel wires it)
            line.textChanged.connect(self._on_changed)
        return line

    def _slider(self, spec: FieldSpec) -> QSlider:
        slider = QSlider(Qt.Orientation.Horizontal)
        value_range = spec.number_range(AppSettings())
        assert value_range is not None and value_range.low is not None and value_range.high is not None
        slider.setRange(int(value_range.low), int(value_range.high))
        slider.setPageStep(10)
        slider.valueChanged.connect(self._on_changed)
        return slider

    # typed access
    def combo(self, key: str) -> QComboBox:
        return cast(QComboBox, self.control(key))

    def check_box(self, key: str) -> QCheckBox:
        return cast(QCheckBox, self.control(key))

    def omni_model(self) -> str:
        return self.combo("connection.omni_model").currentText().strip()

    def tts_model(self) -> str:
        return self.combo("connection.tts_model").currentText().strip()

    # ------------------------------------------------------------------ settings <-> controls

    def show(self, settings: AppSettings, sections: tuple[str, ...] = ALL_SECTIONS) -> None:
        """Put ``settings`` into the controls of these sections (models first: lists depend on them)."""
        was, self.loading = self.loading, True
        try:
            if "connection" in sections:
                self.combo("connection.omni_model").setCurrentText(settings.connection.omni_model)
                self.combo("connection.tts_model").setCurrentText(settings.connection.tts_model)
                self.custom_url = settings.connection.custom_url
            if "omni" in sections:
                self.fill_omni_voices()
                self._show_turn_mode(settings, follow_mode="ui" in sections)
            if "tts" in sections:
                self.fill_tts_lists()
            for spec in fields.FIELDS:
                if spec.section in sections and spec.key in self.controls and spec.control is not Control.TURN_MODE:
                    self._show_value(spec, spec.read(settings))
        finally:
            self.loading = was

    def _show_turn_mode(self, settings: AppSettings, follow_mode: bool) -> None:
        turn = self.combo("ui.turn_mode")
        self.omni_vad_type = settings.omni.vad_type
        if follow_mode:
            select_data(turn, "off" if settings.ui.turn_mode == "ptt" else settings.omni.vad_type)
        elif turn.currentData() != "off":  # a preset: its VAD type, unless push-to-talk is on
            select_data(turn, settings.omni.vad_type)

    def _show_value(self, spec: FieldSpec, value: SettingValue) -> None:
        widget = self.controls[spec.key]
        if isinstance(widget, NumberField):
            widget.setValue(_number(value))
        elif isinstance(widget, QComboBox) and widget.isEditable():
            widget.setCurrentText(_text(value))
        elif isinstance(widget, QComboBox) and spec.control is Control.DEVICE:
            self.show_device(widget, None if value is None else _text(value))
        elif isinstance(widget, QComboBox):
            choice = spec.choice_for(value)
            data = choice.item_data if choice is not None else value
            if not select_data(widget, data):  # a value the list lacks (e.g. a newer language): keep it
                widget.addItem(str(value), value)
                select_data(widget, value)
        elif isinstance(widget, QCheckBox):
            widget.setChecked(bool(value))
        elif isinstance(widget, QPlainTextEdit):
            widget.setPlainText(_text(value or ""))
        elif isinstance(widget, QSlider):
            widget.setValue(_whole(value))
        elif isinstance(widget, QLineEdit):
            widget.setText(_text(value))

    def show_device(self, combo: QComboBox, identity: str | None) -> None:
        """Select a saved device; one that is not listed now stays selectable as "not connected"."""
        if combo.count() and not select_data(combo, identity) and identity is not None:
            combo.addItem(fill(translate("SettingsPanel", "%1 (not connected)"), identity), identity)
            select_data(combo, identity)

    def read_into(self, settings: AppSettings, sections: tuple[str, ...] = ALL_SECTIONS) -> None:
        """Write what the controls of these sections show into ``settings``."""
        for spec in fields.FIELDS:
            if spec.section in sections and spec.key in self.controls:
                self._read_value(spec, settings)
        if "omni" in sections:
            turn = self.combo("ui.turn_mode").currentData()
            settings.omni.vad_type = self.omni_vad_type if turn == "off" else str(turn)
            if "ui" in sections:
                settings.ui.turn_mode = "ptt" if turn == "off" else "vad"
        if "connection" in sections:
            settings.connection.custom_url = self.custom_url.strip()

    def _read_value(self, spec: FieldSpec, settings: AppSettings) -> None:
        widget = self.controls[spec.key]
        value: SettingValue
        if spec.control is Control.TURN_MODE or spec.key == "connection.custom_url":
            return  # read above: they stand for more than one value
        if isinstance(widget, NumberField):
            value = widget.value()
        elif isinstance(widget, QComboBox) and widget.isEditable():
            value = widget.currentText().strip()
        elif isinstance(widget, QComboBox):
            data = widget.currentData()
            choice = next((c for c in spec.choices if c.item_data == data), None)
            value = choice.value if choice is not None else data
        elif isinstance(widget, QCheckBox):
            value = widget.isChecked() or (None if spec.optional else False)
        elif isinstance(widget, QPlainTextEdit):
            text = widget.toPlainText()
            value = text if text.strip() or not spec.optional else None
        elif isinstance(widget, QSlider):
            value = widget.value()
        elif isinstance(widget, QLineEdit):
            value = widget.text().strip()
        else:  # pragma: no cover - a new control kind needs a branch here
            raise AssertionError(spec.key)
        spec.write(settings, value)

    # ------------------------------------------------------------------ lists that follow the model

    def fill_omni_voices(self, model_changed: bool = False) -> None:
        caps = models.omni_capabilities(self.omni_model())
        self._fill_voices(self.combo("omni.voice"), caps.voices, caps.voices_exhaustive, caps.default_voice,
                          model_changed)

    def fill_tts_lists(self, model_changed: bool = False) -> None:
        caps = models.tts_capabilities(self.tts_model())
        self._fill_voices(self.combo("tts.voice"), caps.voices, caps.voices_exhaustive, caps.default_voice,
                          model_changed)
        language = self.combo("tts.language_type")
        chosen = language.currentData()
        language.blockSignals(True)
        language.clear()
        for value in caps.languages:
            language.addItem(self._language_name(value), value)
        if not select_data(language, chosen):
            select_data(language, fields.field("tts.language_type").default)
        language.blockSignals(False)

    @staticmethod
    def _fill_voices(combo: QComboBox, voices: tuple[str, ...], exhaustive: bool, default: str,
                     model_changed: bool) -> None:
        # A saved custom voice is kept; after a model switch a voice the new model does not list
        # becomes its default voice (voice names are model-specific and refused by other models).
        current = combo.currentText().strip()
        combo.blockSignals(True)
        combo.clear()
        combo.addItems(list(voices))
        keep_unlisted = not exhaustive and not (model_changed and default)
        combo.setCurrentText(current if current and (current in voices or keep_unlisted) else default)
        combo.blockSignals(False)

    @staticmethod
    def _language_name(value: str) -> str:
        name = fields.TTS_LANGUAGE_NAMES.get(value)
        if name is None:
            return value
        return declared_text(name) if value == "Auto" else f"{declared_text(name)} ({value})"

    # ------------------------------------------------------------------ what is switched on

    def offer_choices(self, settings: AppSettings) -> None:
        """Grey out choices the models do not offer; move off one that is no longer offered."""
        for spec in fields.FIELDS:
            if spec.choice_offered is None or spec.key not in self.controls:
                continue
            combo = self.combo(spec.key)
            offered = {c.item_data for c in spec.offered(settings)}
            model = settings.connection.tts_model if spec.section == "tts" else settings.connection.omni_model
            why = fill(translate("SettingsPanel", "Not supported by %1."), model)
            for i in range(combo.count()):
                set_item_enabled(combo, i, combo.itemData(i) in offered, why)
            if combo.currentData() not in offered:
                preferred = "server_vad" if spec.control is Control.TURN_MODE else spec.default
                select_data(combo, preferred if preferred in offered else next(iter(offered), None))

    def switch_fields(self, settings: AppSettings) -> None:
        """Enable each field, or disable it with a tooltip saying why (its declared conditions)."""
        for spec in fields.FIELDS:
            if spec.key in self.controls and (spec.enabled_when or spec.control is Control.NUMBER):
                self.disable(spec.key, reason_text(spec.unavailable(settings)), settings)

    def disable(self, key: str, reason: str | None, settings: AppSettings) -> None:
        widget = self.controls[key]
        widget.setEnabled(reason is None)
        widget.setToolTip(reason or self._range_tooltip(key, settings))
        label = self.labels.get(key)
        if label is not None:
            label.setEnabled(reason is None)
            label.setToolTip(reason or "")

    @staticmethod
    def _range_tooltip(key: str, settings: AppSettings) -> str:
        spec = fields.BY_KEY.get(key)
        value_range = spec.number_range(settings) if spec is not None else None
        return fill(translate("SettingsPanel", "Allowed: %1"), value_range.allowed()) if value_range else ""

    # ------------------------------------------------------------------ problems

    def show_problems(self, problems: dict[str, SettingsError]) -> dict[str, str]:
        """Mark the fields with problems; returns every blocking problem by key (text included)."""
        for key, number in self.number_fields.items():
            found = problems.get(key)
            number.set_external_error(format_error(found) if found is not None and number.isEnabled() else None)
        for key, label in self.error_labels.items():
            found = problems.get(key)
            label.show_message(format_error(found) if found is not None else None)
            widget = self.controls.get(key)
            if widget is not None:
                set_invalid(widget, found is not None)
        return self.blocking(problems)

    def blocking(self, problems: dict[str, SettingsError]) -> dict[str, str]:
        found = {key: format_error(error) for key, error in problems.items()}
        for key, number in self.number_fields.items():
            if number.isEnabled() and not number.has_number():
                found[key] = number.error() or ""
        return found

    def numbers_valid(self, section: str) -> bool:
        return all(f.is_valid() for key, f in self.number_fields.items() if key.startswith(section + "."))
