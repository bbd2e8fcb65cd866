"""The settings panel with real Qt widgets: mapping, inline validation, capabilities, persistence,
presets, the API key, languages, and the app services it drives."""

from __future__ import annotations

import dataclasses
import json
import stat

import pytest
from keyring.backends import fail
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QComboBox, QInputDialog, QLineEdit, QMessageBox, QPlainTextEdit, QSlider

from qwenvoice.settings.presets import PresetBook, make_preset
from qwenvoice.settings.schema import AppSettings, OmniSettings, TtsSettings
from qwenvoice.settings.secrets import KEYRING_SERVICE, KEYRING_USERNAME, ApiKeyStore
from qwenvoice.settings.store import SettingsStore
from qwenvoice.ui.i18n import LanguageManager
from qwenvoice.ui.settings_panel import TAB_KEYS, SettingsPanel
from qwenvoice.ui.widgets import NumberField
from tests.gui.helpers import wait_for
from tests.gui.settings_fakes import FakeServices, MemoryKeyring

KEY = "sk-panel0123456789abcdef"


@pytest.fixture
def env(tmp_path):
    class Env:
        store = SettingsStore(tmp_path / "config")
        keyring = MemoryKeyring()
        keys = ApiKeyStore(config_dir=tmp_path / "config", backend=keyring, environ={})
        services = FakeServices(keys)

    return Env()


@pytest.fixture
def make_panel(qtbot, env):
    def make(settings: AppSettings | None = None, **kwargs) -> SettingsPanel:
        options = {"store": env.store, "services": env.services}
        options.update(kwargs)
        panel = SettingsPanel(settings or AppSettings(), **options)
        qtbot.addWidget(panel)
        return panel

    return make


def set_control(panel: SettingsPanel, path: str, value) -> None:
    widget = panel.controls[path]
    if isinstance(widget, NumberField):
        widget.setText("" if value is None else str(value))
    elif isinstance(widget, QComboBox):
        if widget.isEditable():
            widget.setCurrentText(value)
        else:
            index = widget.findData(value)
            assert index >= 0, (path, value)
            widget.setCurrentIndex(index)
    elif isinstance(widget, QCheckBox):
        widget.setChecked(value)
    elif isinstance(widget, QPlainTextEdit):
        widget.setPlainText(value)
    elif isinstance(widget, QLineEdit):
        widget.setText(value)
    elif isinstance(widget, QSlider):
        widget.setValue(value)
    else:  # pragma: no cover - a new control type needs a branch here
        raise AssertionError(f"unknown control {type(widget)} for {path}")


def get_path(settings: AppSettings, path: str):
    section, name = path.split(".")
    return getattr(getattr(settings, section), name)


# ------------------------------------------------------------------------------------------ mapping


def test_every_settings_field_has_a_control(make_panel):
    panel = make_panel()
    covered = set(panel.controls)
    for section in ("connection", "omni", "tts", "audio", "ui"):
        for field in dataclasses.fields(getattr(AppSettings(), section)):
            path = f"{section}.{field.name}"
            if path == "omni.vad_type":
                path = "ui.turn_mode"  # one "turn detection" picker sets both
            assert path in covered, f"no control for {path}"
            assert path in panel.labels or isinstance(panel.controls[path], QCheckBox), f"no label for {path}"
            if path in panel.labels:
                assert panel.labels[path].buddy() is panel.controls[path], path


def test_choice_lists_offer_exactly_the_schema_values(make_panel):
    from qwenvoice.settings.schema import LANGUAGES, LISTENING_SETUPS, REGIONS, THEMES

    panel = make_panel()

    def data(path):
        combo = panel.controls[path]
        return tuple(combo.itemData(i) for i in range(combo.count()))

    assert data("connection.region") == REGIONS
    assert data("audio.listening_setup") == LISTENING_SETUPS
    assert data("ui.language") == LANGUAGES and data("ui.theme") == THEMES
    assert data("ui.turn_mode") == ("off", "server_vad", "semantic_vad")


# (path, value shown in the widget, value expected in the settings)
MAPPING = [
    ("connection.omni_model", "qwen3.5-omni-flash-realtime", "qwen3.5-omni-flash-realtime"),
    ("omni.voice", "Ethan", "Ethan"),
    ("omni.modalities", "text", ("text",)),
    ("omni.instructions", "Answer in one sentence.", "Answer in one sentence."),
    ("omni.vad_threshold", 0.25, 0.25),
    ("omni.silence_duration_ms", 1200, 1200),
    ("omni.prefix_padding_ms", 500, 500),
    ("omni.input_transcription", False, False),
    ("omni.temperature", 0.7, 0.7),
    ("omni.top_p", 0.9, 0.9),
    ("omni.top_k", 40, 40),
    ("omni.max_tokens", 512, 512),
    ("omni.repetition_penalty", 1.05, 1.05),
    ("omni.presence_penalty", -0.5, -0.5),
    ("omni.seed", 42, 42),
    ("omni.smooth_output", "off", False),
    ("connection.tts_model", "qwen3-tts-instruct-flash-realtime", "qwen3-tts-instruct-flash-realtime"),
    ("tts.voice", "Serena", "Serena"),
    ("tts.mode", "commit", "commit"),
    ("tts.language_type", "English", "English"),
    ("tts.response_format", "opus", "opus"),
    ("tts.sample_rate", 48000, 48000),
    ("tts.bit_rate", 64, 64),
    ("tts.speech_rate", 1.25, 1.25),
    ("tts.volume", 70, 70),
    ("tts.pitch_rate", 0.8, 0.8),
    ("tts.instructions", "Warm and slow.", "Warm and slow."),
    ("tts.optimize_instructions", True, True),
    ("connection.region", "singapore", "singapore"),
    ("audio.input_device", "USB Headset [ALSA]", "USB Headset [ALSA]"),
    ("audio.output_device", "speaker [PulseAudio]", "speaker [PulseAudio]"),
    ("audio.output_volume", 35, 35),
    ("audio.listening_setup", "headphones", "headphones"),
    ("audio.echo_cancellation", False, False),
    ("ui.language", "en", "en"),
    ("ui.theme", "dark", "dark"),
]


def test_each_control_sets_its_field(make_panel):
    panel = make_panel()
    for path, shown, expected in MAPPING:
        set_control(panel, path, shown)
        assert get_path(panel.collect(), path) == expected, path
    assert panel.errors() == {}
    assert panel.apply_button.isEnabled()


def test_turn_detection_picker_sets_mode_and_vad_type(make_panel):
    panel = make_panel()
    set_control(panel, "connection.omni_model", "qwen3.5-omni-plus-realtime")
    set_control(panel, "ui.turn_mode", "semantic_vad")
    settings = panel.collect()
    assert (settings.ui.turn_mode, settings.omni.vad_type) == ("vad", "semantic_vad")
    set_control(panel, "ui.turn_mode", "off")
    settings = panel.collect()
    assert (settings.ui.turn_mode, settings.omni.vad_type) == ("ptt", "semantic_vad")
    assert not panel.controls["omni.vad_threshold"].isEnabled()


def test_custom_url_is_kept_while_a_region_is_shown(make_panel):
    panel = make_panel()
    set_control(panel, "connection.region", "custom")
    panel.url_edit.setText("ws://127.0.0.1:9000/api-ws/v1/realtime")
    set_control(panel, "connection.region", "beijing")
    assert panel.url_edit.isReadOnly() and "dashscope.aliyuncs.com" in panel.url_edit.text()
    assert panel.collect().connection.custom_url == "ws://127.0.0.1:9000/api-ws/v1/realtime"
    set_control(panel, "connection.region", "custom")
    assert panel.url_edit.text() == "ws://127.0.0.1:9000/api-ws/v1/realtime" and not panel.url_edit.isReadOnly()


# ------------------------------------------------------------------------------------------ validation


@pytest.mark.parametrize(
    ("path", "text", "allowed"),
    [
        ("omni.temperature", "2.5", "[0.0, 2.0)"),
        ("omni.top_p", "0", "(0.0, 1.0]"),
        ("omni.vad_threshold", "1.5", "[-1.0, 1.0]"),
        ("omni.silence_duration_ms", "100", "[200, 6000]"),
        ("omni.max_tokens", "99999", "[1, 16384]"),
        ("tts.volume", "150", "[0, 100]"),
        ("tts.speech_rate", "3", "[0.5, 2.0]"),
    ],
)
def test_out_of_range_is_refused_inline_with_the_range(make_panel, path, text, allowed):
    panel = make_panel()
    field = panel.number_fields[path]
    field.setText(text)
    assert not field.is_valid()
    assert not field.error_label.isHidden()
    assert text in field.error_label.text() and allowed in field.error_label.text()
    assert field.edit.property("invalid") is True
    assert not panel.apply_button.isEnabled() and not panel.ok_button.isEnabled()
    assert path in panel.errors()
    assert panel.notice.isVisibleTo(panel) and panel.notice.severity() == "error"
    field.setText("")  # back to "model default" (or the default for required fields below)
    if path in ("omni.vad_threshold", "omni.silence_duration_ms"):
        field.setText("0.5" if path == "omni.vad_threshold" else "800")
    assert field.is_valid() and field.error_label.isHidden()
    assert panel.apply_button.isEnabled() and not panel.notice.isVisibleTo(panel)


def test_text_that_is_not_a_number_is_refused(make_panel):
    panel = make_panel()
    panel.number_fields["omni.seed"].setText("abc")
    assert "not a number" in panel.number_fields["omni.seed"].error_label.text()
    assert not panel.apply_button.isEnabled()
    panel.number_fields["omni.seed"].setText("1.5")
    assert "whole number" in panel.number_fields["omni.seed"].error_label.text()
    panel.number_fields["omni.seed"].setText("-1")
    assert panel.apply_button.isEnabled()


def test_apply_refuses_while_invalid(make_panel, env, qtbot):
    panel = make_panel()
    panel.number_fields["omni.temperature"].setText("9")
    with qtbot.assertNotEmitted(panel.applied):
        assert panel.apply() is False
    assert not env.store.path.exists()


def test_voice_not_offered_by_the_model_is_refused(make_panel):
    panel = make_panel()
    set_control(panel, "omni.voice", "Nobody")
    assert "omni.voice" in panel.errors()
    assert panel.error_labels["omni.voice"].isVisibleTo(panel)
    assert "'Nobody'" in panel.error_labels["omni.voice"].text()


def test_custom_url_must_be_a_websocket_url(make_panel):
    panel = make_panel()
    set_control(panel, "connection.region", "custom")
    panel.url_edit.setText("http://example.com")
    assert "connection.custom_url" in panel.errors()
    assert "ws://" in panel.error_labels["connection.custom_url"].text()
    panel.url_edit.setText("wss://example.com/api-ws/v1/realtime")
    assert panel.errors() == {}


# ------------------------------------------------------------------------------------------ capabilities


def test_legacy_tts_model_disables_prosody_with_a_reason(make_panel):
    panel = make_panel()
    set_control(panel, "connection.tts_model", "qwen-tts-realtime")
    for path in ("tts.speech_rate", "tts.volume", "tts.pitch_rate"):
        widget = panel.controls[path]
        assert not widget.isEnabled()
        assert "qwen-tts-realtime" in widget.toolTip()
    formats = panel.controls["tts.response_format"]
    opus = formats.findData("opus")
    assert not formats.model().item(opus).isEnabled()
    assert "qwen-tts-realtime" in formats.model().item(opus).toolTip()
    set_control(panel, "connection.tts_model", "qwen3-tts-flash-realtime")
    assert panel.controls["tts.speech_rate"].isEnabled()
    assert "Allowed:" in panel.controls["tts.speech_rate"].toolTip()


def test_instructions_only_for_instruct_tts_models(make_panel):
    panel = make_panel()
    assert not panel.controls["tts.instructions"].isEnabled()
    assert "instruct" in panel.controls["tts.instructions"].toolTip()
    set_control(panel, "connection.tts_model", "qwen3-tts-instruct-flash-realtime")
    assert panel.controls["tts.instructions"].isEnabled()


def test_bit_rate_only_with_opus(make_panel):
    panel = make_panel()
    assert not panel.controls["tts.bit_rate"].isEnabled()
    assert "Opus" in panel.controls["tts.bit_rate"].toolTip()
    set_control(panel, "tts.response_format", "opus")
    assert panel.controls["tts.bit_rate"].isEnabled()
    panel.number_fields["tts.bit_rate"].setText("600")
    assert "[6, 510]" in panel.number_fields["tts.bit_rate"].error_label.text()


def test_omni_model_capabilities(make_panel):
    panel = make_panel()
    turn = panel.controls["ui.turn_mode"]
    semantic = turn.findData("semantic_vad")
    assert not turn.model().item(semantic).isEnabled()
    assert not panel.controls["omni.idle_timeout_ms"].isEnabled()
    assert panel.controls["omni.smooth_output"].isEnabled()

    set_control(panel, "connection.omni_model", "qwen3.5-omni-flash-realtime")
    assert turn.model().item(semantic).isEnabled()
    assert panel.controls["omni.idle_timeout_ms"].isEnabled()
    assert not panel.controls["omni.smooth_output"].isEnabled()
    assert panel.controls["omni.voice"].currentText() == "Tina"  # Cherry is not a Qwen3.5 voice

    set_control(panel, "connection.omni_model", "qwen-omni-turbo-realtime")
    assert not panel.controls["omni.temperature"].isEnabled()
    assert "ignores sampling" in panel.controls["omni.temperature"].toolTip()
    assert panel.controls["omni.voice"].currentText() == "Chelsie"


def test_disabled_field_does_not_block_apply(make_panel):
    panel = make_panel()
    panel.number_fields["omni.temperature"].setText("7")
    assert not panel.apply_button.isEnabled()
    set_control(panel, "connection.omni_model", "qwen-omni-turbo-realtime")
    assert panel.apply_button.isEnabled()  # turbo ignores temperature: it is not sent


# ------------------------------------------------------------------------------------------ persistence


def test_apply_persists_and_reloads(make_panel, env, qtbot):
    panel = make_panel()
    for path, shown, _ in MAPPING:
        set_control(panel, path, shown)
    with qtbot.waitSignal(panel.applied) as signal:
        panel.apply_button.click()
    applied: AppSettings = signal.args[0]
    assert applied.omni.temperature == 0.7 and applied.tts.bit_rate == 64
    data = json.loads(env.store.path.read_text(encoding="utf-8"))
    assert data["omni"]["seed"] == 42 and data["ui"]["theme"] == "dark"
    loaded = env.store.load()
    assert loaded.notices == [] and loaded.settings == applied

    again = make_panel(loaded.settings)
    for path, _, expected in MAPPING:
        assert get_path(again.collect(), path) == expected, path
    assert again.number_fields["omni.temperature"].text() == "0.7"


def test_ok_applies_and_closes(make_panel, env, qtbot):
    panel = make_panel()
    panel.show()
    panel.number_fields["omni.top_k"].setText("10")
    with qtbot.waitSignal(panel.applied):
        panel.ok_button.click()
    assert not panel.isVisible()
    assert env.store.load().settings.omni.top_k == 10


def test_cancel_discards_everything(make_panel, env, qtbot):
    settings = AppSettings()
    settings.omni.instructions = "Original."
    panel = make_panel(settings)
    panel.show()
    panel.controls["omni.instructions"].setPlainText("Edited.")
    panel.omni_presets.save_as("Scratch")
    panel.key_edit.setText(KEY)
    with qtbot.assertNotEmitted(panel.applied):
        panel.cancel_button.click()
    assert not panel.isVisible()
    assert not env.store.path.exists()
    assert env.keyring.entries == {}
    assert settings.omni.instructions == "Original." and settings.presets == []
    # Reopened, the dialog shows the applied values again.
    assert panel.controls["omni.instructions"].toPlainText() == "Original."
    assert panel.omni_presets.combo.count() == 0 and panel.key_edit.text() == ""


def test_corrupted_settings_file_is_recovered_and_reported(make_panel, env, qtbot):
    env.store.config_dir.mkdir(parents=True)
    env.store.path.write_text('{"omni": {"temperature": ', encoding="utf-8")
    result = env.store.load()
    assert result.settings == AppSettings() and result.backup_path is not None
    panel = make_panel(result.settings, notices=result.notices)
    assert panel.notice.isVisibleTo(panel) and panel.notice.severity() == "warning"
    assert "damaged" in panel.notice.text()
    with qtbot.waitSignal(panel.applied):
        panel.apply()
    assert env.store.load().notices == []


def test_embedded_panel_cancel_reverts_without_hiding(make_panel, qtbot):
    panel = make_panel(embedded=True)
    panel.show()
    assert not panel.ok_button.isVisible()
    panel.number_fields["omni.top_k"].setText("5")
    panel.cancel_button.click()
    assert panel.isVisible() and panel.number_fields["omni.top_k"].text() == ""
    panel.number_fields["omni.top_k"].setText("6")
    with qtbot.waitSignal(panel.applied):
        panel.apply_button.click()
    assert panel.isVisible() and not panel.is_dirty()


# ------------------------------------------------------------------------------------------ presets


def test_presets_save_load_rename_delete(make_panel, env, qtbot):
    panel = make_panel()
    bar = panel.omni_presets
    panel.controls["omni.instructions"].setPlainText("You are a patient tutor.")
    set_control(panel, "omni.voice", "Ethan")
    panel.number_fields["omni.temperature"].setText("0.3")
    assert bar.save_as("Tutor")
    assert bar.combo.currentText() == "Tutor" and bar.load_button.isEnabled()

    panel.controls["omni.instructions"].setPlainText("Something else")
    panel.number_fields["omni.temperature"].setText("")
    assert bar.load("Tutor")
    collected = panel.collect()
    assert collected.omni.instructions == "You are a patient tutor."
    assert collected.omni.voice == "Ethan" and collected.omni.temperature == 0.3

    assert bar.rename("Tutor", "Patient tutor")
    assert [bar.combo.itemText(i) for i in range(bar.combo.count())] == ["Patient tutor"]
    with qtbot.waitSignal(panel.applied):
        panel.apply()
    saved = env.store.load().settings.presets
    assert [(p.name, p.kind) for p in saved] == [("Patient tutor", "omni")]

    assert bar.delete("Patient tutor")
    assert bar.combo.count() == 0 and not bar.delete_button.isEnabled()


def test_preset_buttons_ask_for_names(make_panel, monkeypatch):
    panel = make_panel()
    bar = panel.tts_presets
    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: ("Narrator", True))
    bar.save_button.click()
    assert bar.combo.currentText() == "Narrator"
    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: ("Storyteller", True))
    bar.rename_button.click()
    assert bar.combo.currentText() == "Storyteller"
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    bar.delete_button.click()
    assert bar.combo.count() == 0


def test_preset_with_invalid_values_is_not_saved(make_panel):
    panel = make_panel()
    panel.number_fields["tts.volume"].setText("300")
    messages = []
    panel.tts_presets.message.connect(lambda text, severity: messages.append((text, severity)))
    assert not panel.tts_presets.save_as("Loud")
    assert panel.tts_presets.combo.count() == 0 and messages[-1][1] == "error"


def test_presets_import_export(make_panel, tmp_path):
    source = AppSettings()
    book = PresetBook(source.presets)
    book.save(make_preset("Calm", dataclasses.replace(TtsSettings(), speech_rate=0.8)))
    book.save(make_preset("Brief", dataclasses.replace(OmniSettings(), instructions="Be brief.")))
    panel = make_panel(source)
    assert panel.tts_presets.combo.currentText() == "Calm"
    exported = tmp_path / "presets.json"
    assert panel.tts_presets.export_file(exported) == 1
    assert json.loads(exported.read_text(encoding="utf-8"))["presets"][0]["name"] == "Calm"

    other = make_panel()
    assert other.tts_presets.import_file(exported) == 1
    assert other.tts_presets.combo.currentText() == "Calm"
    assert other.tts_presets.load("Calm") and other.collect().tts.speech_rate == 0.8
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2", encoding="utf-8")
    assert other.tts_presets.import_file(bad) == 0
    assert other.notice.severity() == "error"


# ------------------------------------------------------------------------------------------ API key


def test_api_key_goes_to_the_keyring_and_is_never_shown_or_saved(make_panel, env, qtbot):
    panel = make_panel()
    assert panel.key_edit.echoMode() == QLineEdit.EchoMode.Password
    panel.key_edit.setText(KEY)
    with qtbot.waitSignal(panel.applied):
        panel.apply()
    assert env.keyring.entries[(KEYRING_SERVICE, KEYRING_USERNAME)] == KEY
    assert panel.key_edit.text() == ""
    assert "stored in the keyring" in panel.key_edit.placeholderText()
    for path in env.store.config_dir.rglob("*"):
        if path.is_file():
            assert KEY not in path.read_text(encoding="utf-8", errors="ignore")
    reopened = make_panel(env.store.load().settings)
    assert reopened.key_edit.text() == "" and "••••" in reopened.key_edit.placeholderText()
    assert reopened.remove_key_button.isEnabled()

    reopened.remove_key_button.click()
    with qtbot.waitSignal(reopened.applied):
        reopened.apply()
    assert env.keyring.entries == {}


def test_without_keyring_the_key_is_refused_unless_the_user_accepts_a_file(make_panel, env, qtbot, monkeypatch):
    keys = ApiKeyStore(config_dir=env.store.config_dir, backend=fail.Keyring(), environ={})
    panel = make_panel(services=FakeServices(keys))
    assert not panel.plaintext_check.isHidden()
    assert "no system keyring" in panel.key_status.text()
    panel.key_edit.setText(KEY)
    with qtbot.assertNotEmitted(panel.applied):
        assert panel.apply() is False
    assert panel.error_labels["api_key"].isVisibleTo(panel)
    assert not keys.plaintext_path.exists() and not env.store.path.exists()

    monkeypatch.setattr(QMessageBox, "warning", lambda *a, **k: QMessageBox.StandardButton.No)
    panel.plaintext_check.setChecked(True)
    assert not panel.plaintext_check.isChecked()  # declined: stays off

    monkeypatch.setattr(QMessageBox, "warning", lambda *a, **k: QMessageBox.StandardButton.Yes)
    panel.plaintext_check.setChecked(True)
    with qtbot.waitSignal(panel.applied):
        assert panel.apply()
    assert stat.S_IMODE(keys.plaintext_path.stat().st_mode) == 0o600
    assert KEY not in env.store.path.read_text(encoding="utf-8")
    assert "private file" in panel.key_edit.placeholderText()


def test_environment_key_is_reported(make_panel, env):
    keys = ApiKeyStore(config_dir=env.store.config_dir, backend=env.keyring, environ={"DASHSCOPE_API_KEY": KEY})
    panel = make_panel(services=FakeServices(keys))
    assert "DASHSCOPE_API_KEY" in panel.key_status.text()
    assert KEY not in panel.key_status.text() and KEY not in panel.key_edit.placeholderText()


# ------------------------------------------------------------------------------------------ language


def test_switching_to_simplified_chinese_changes_visible_texts(make_panel, qtbot):
    languages = LanguageManager()
    panel = make_panel(languages=languages)
    assert panel.tabs.tabText(0) == "Conversation"
    set_control(panel, "ui.language", "zh_CN")
    try:
        with qtbot.waitSignal(panel.applied):
            panel.apply()
        qtbot.waitUntil(lambda: panel.tabs.tabText(0) == "对话", timeout=3000)
        assert panel.labels["omni.temperature"].text() == "温度："
        assert panel.cancel_button.text() == "取消"  # Qt's own strings follow
        panel.number_fields["omni.temperature"].setText("5")
        assert "允许" in panel.number_fields["omni.temperature"].error_label.text()
    finally:
        languages.apply("en")
    qtbot.waitUntil(lambda: panel.tabs.tabText(0) == "Conversation", timeout=3000)


# ------------------------------------------------------------------------------------------ services


def test_devices_follow_hot_plug_and_keep_a_missing_choice(make_panel, env):
    settings = AppSettings()
    settings.audio.input_device = "Old Mic [ALSA]"
    panel = make_panel(settings)
    combo = panel.controls["audio.input_device"]
    texts = [combo.itemText(i) for i in range(combo.count())]
    assert texts[0] == "System default" and "mic [PulseAudio] (default)" in texts
    assert combo.currentData() == "Old Mic [ALSA]" and "not connected" in combo.currentText()
    env.services.inputs.append(panel_device := type(env.services.inputs[0])("Old Mic [ALSA]"))
    panel.refresh_devices()
    assert combo.currentData() == panel_device.identity and "not connected" not in combo.currentText()
    assert panel.collect().audio.input_device == "Old Mic [ALSA]"


def test_mic_level_and_test_tone(make_panel, env, qtbot):
    panel = make_panel()
    panel.show()
    panel.tabs.setCurrentIndex(TAB_KEYS.index("audio"))
    qtbot.waitUntil(lambda: panel.mic_meter.value() > 0, timeout=2000)
    assert env.services.monitoring == [None]
    assert abs(panel.mic_meter.level_db() - (-20.0)) < 0.01 and "dBFS" in panel.mic_level_label.text()
    panel.volume_slider.setValue(40)
    set_control(panel, "audio.output_device", "USB Headset [ALSA]")
    panel.test_tone_button.click()
    assert env.services.tones == [("USB Headset [ALSA]", 40)]
    panel.tabs.setCurrentIndex(0)
    assert env.services.monitor_stops == 1


def test_without_services_the_app_only_buttons_are_disabled(make_panel):
    panel = make_panel(services=None)
    assert not panel.test_connection_button.isEnabled() and not panel.preview_button.isEnabled()
    assert "running" in panel.test_connection_button.toolTip()


async def test_connection_test_reports_the_result(make_panel, env):
    panel = make_panel()
    set_control(panel, "connection.region", "singapore")
    panel.key_edit.setText(KEY)
    panel.test_connection_button.click()
    await wait_for(lambda: panel.connection_result.severity() == "ok")
    assert "Connected" in panel.connection_result.text()
    assert env.services.connection_calls == [
        ("wss://dashscope-intl.aliyuncs.com/api-ws/v1/realtime", "qwen3-omni-flash-realtime", KEY)
    ]
    assert panel.test_connection_button.isEnabled()
    assert env.keyring.entries == {}  # testing does not store the key


async def test_voice_preview_uses_the_current_tts_fields(make_panel, env):
    panel = make_panel()
    set_control(panel, "tts.voice", "Serena")
    panel.number_fields["tts.speech_rate"].setText("1.5")
    panel.preview_text.setText("Testing one two.")
    panel.preview_button.click()
    await wait_for(lambda: panel.preview_button.isEnabled() and env.services.previews)
    model, tts, text = env.services.previews[0]
    assert (model, tts.voice, tts.speech_rate, text) == ("qwen3-tts-flash-realtime", "Serena", 1.5, "Testing one two.")
    env.services.preview_error = RuntimeError("voice refused")
    panel.preview_button.click()
    await wait_for(lambda: "voice refused" in panel.preview_status.text())


def test_fits_a_1024x700_screen(make_panel):
    panel = make_panel()
    hint = panel.minimumSizeHint()
    assert hint.width() <= 1024 and hint.height() <= 700
    assert panel.minimumWidth() <= 1024 and panel.minimumHeight() <= 700
    assert panel.windowTitle().endswith("qwenvoice")
    assert not panel.windowIcon().isNull()


def test_keyboard_focus_moves_through_fields(make_panel, qtbot):
    panel = make_panel()
    panel.show()
    panel.number_fields["omni.temperature"].setFocus()
    qtbot.keyClicks(panel.number_fields["omni.temperature"].edit, "1.2")
    qtbot.keyClick(panel.number_fields["omni.temperature"].edit, Qt.Key.Key_Tab)
    assert panel.collect().omni.temperature == 1.2


async def test_echo_self_test_runs_through_the_services(make_panel, env):
    from qwenvoice.settings.services import ECHO_HALF_DUPLEX, EchoState, EchoTestReport

    env.services.echo_report = EchoTestReport(True, "Echo at 31 dB", ECHO_HALF_DUPLEX, delay_ms=240.0)
    env.services.echo = EchoState(mode="off", half_duplex=False)
    panel = make_panel()
    set_control(panel, "audio.input_device", "USB Headset [ALSA]")
    panel.echo_test_button.click()
    await wait_for(lambda: panel.echo_test_button.isEnabled())
    assert env.services.echo_tests == [("USB Headset [ALSA]", None)]
    assert panel.echo_test_result.text() == "Echo at 31 dB" and panel.echo_test_result.severity() == "warning"
    assert panel.echo_status.text() == "Echo cancellation off"
    assert not panel.apply_echo_button.isHidden()
    assert panel.apply_echo_recommendation()
    assert env.store.load().settings.audio.half_duplex is True
