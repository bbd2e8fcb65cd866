"""What an Apply changed: live session.update or a reconnect, and why."""

from __future__ import annotations

from qwenvoice.settings.changes import carry_edits, changed_fields, diff
from qwenvoice.settings.schema import AppSettings


def test_no_change():
    d = diff(AppSettings(), AppSettings())
    assert d.changed == frozenset() and not d.omni_session_changed and not d.omni_needs_reconnect


def test_sampling_change_is_a_live_update():
    old, new = AppSettings(), AppSettings()
    new.omni.temperature = 0.3
    d = diff(old, new, omni_audio_produced=True)
    assert d.changed == {"omni.temperature"} and d.omni_session_changed and not d.omni_needs_reconnect
    assert not d.tts_session_changed


def test_voice_change_after_audio_needs_a_reconnect():
    old, new = AppSettings(), AppSettings()
    new.omni.voice = "Ethan"
    assert not diff(old, new).omni_needs_reconnect
    d = diff(old, new, omni_audio_produced=True)
    assert d.voice_changed and d.omni_needs_reconnect
    assert any("voice" in reason for reason in d.omni_reconnect_reasons)


def test_region_and_model_changes_need_reconnects():
    old, new = AppSettings(), AppSettings()
    new.connection.region = "singapore"
    new.connection.tts_model = "qwen3-tts-instruct-flash-realtime"
    d = diff(old, new)
    assert d.omni_needs_reconnect and d.tts_needs_reconnect
    assert "the model changed" in d.tts_reconnect_reasons


def test_appearance_and_audio_flags():
    old, new = AppSettings(), AppSettings()
    new.ui.language = "zh_CN"
    new.audio.output_volume = 50
    d = diff(old, new)
    assert d.appearance_changed and d.audio_changed and not d.omni_session_changed


def test_carry_edits_follows_the_latest_settings_and_keeps_the_edits():
    shown = AppSettings()  # what the form was filled from
    edited = shown.copy()
    edited.omni.instructions = "Edited in the form."
    latest = shown.copy()
    latest.ui.turn_mode = "ptt"  # changed elsewhere meanwhile (the toolbar)
    latest.audio.output_volume = 40
    merged = carry_edits(shown, edited, latest)
    assert merged.ui.turn_mode == "ptt" and merged.audio.output_volume == 40
    assert merged.omni.instructions == "Edited in the form."
    assert latest.omni.instructions == "" and shown.ui.turn_mode == "vad"  # inputs are not touched


def test_carry_edits_lets_an_edit_of_the_same_field_win():
    shown = AppSettings()
    edited = shown.copy()
    edited.ui.turn_mode = "ptt"
    latest = shown.copy()
    latest.omni.voice = "Ethan"
    merged = carry_edits(shown, edited, latest)
    assert (merged.ui.turn_mode, merged.omni.voice) == ("ptt", "Ethan")
    assert changed_fields(shown, merged) == {"ui.turn_mode", "omni.voice"}
