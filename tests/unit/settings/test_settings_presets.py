"""Presets: save, rename, delete, import and export, validated like the settings."""

from __future__ import annotations

import dataclasses
import json

import pytest

from qwenvoice.settings.presets import EXPORT_FORMAT, PresetBook, PresetError, make_preset
from qwenvoice.settings.schema import AppSettings, OmniSettings, SettingsError, TtsSettings, validate


def _book() -> tuple[AppSettings, PresetBook]:
    settings = AppSettings()
    return settings, PresetBook(settings.presets)


def test_save_find_overwrite_rename_delete():
    settings, book = _book()
    omni = dataclasses.replace(OmniSettings(), voice="Ethan", instructions="Be brief.", temperature=0.4)
    book.save(make_preset("Brief", omni, "qwen3-omni-flash-realtime"))
    assert book.names("omni") == ["Brief"] and book.names("tts") == []
    with pytest.raises(PresetError, match="already exists"):
        book.save(make_preset("brief", omni))
    book.save(make_preset("brief", dataclasses.replace(omni, temperature=0.9)), overwrite=True)
    assert book.find("omni", "BRIEF").omni.temperature == 0.9  # type: ignore[union-attr]
    book.save(make_preset("Narrator", TtsSettings()))
    with pytest.raises(PresetError):
        book.rename("omni", "nope", "x")
    book.rename("omni", "brief", "Short answers")
    assert book.names("omni") == ["Short answers"]
    book.delete("omni", "short answers")
    assert book.names("omni") == [] and settings.presets[0].name == "Narrator"
    assert validate(settings) == []


def test_saved_preset_is_a_copy():
    _, book = _book()
    omni = OmniSettings()
    book.save(make_preset("A", omni))
    omni.instructions = "changed later"
    assert book.find("omni", "A").omni.instructions == ""  # type: ignore[union-attr]


def test_invalid_preset_is_refused_with_field_and_range():
    _, book = _book()
    with pytest.raises(SettingsError) as info:
        book.save(make_preset("Hot", dataclasses.replace(OmniSettings(), temperature=9.0)))
    assert info.value.field == "preset.omni.temperature" and "[0.0, 2.0)" in info.value.allowed
    with pytest.raises(SettingsError):
        book.save(make_preset("   ", OmniSettings()))


def test_export_import_round_trip_with_name_clash(tmp_path):
    _, book = _book()
    book.save(make_preset("Calm", dataclasses.replace(TtsSettings(), speech_rate=0.8, voice="Serena")))
    book.save(make_preset("Tutor", dataclasses.replace(OmniSettings(), instructions="Explain simply.")))
    path = tmp_path / "out" / "presets.json"
    assert book.export_json(path) == 2
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["format"] == EXPORT_FORMAT and len(data["presets"]) == 2

    added, notices = book.import_json(path)
    assert notices == [] and [p.name for p in added] == ["Calm (2)", "Tutor (2)"]
    assert book.find("tts", "Calm (2)").tts.speech_rate == 0.8  # type: ignore[union-attr]

    _, fresh = _book()
    added, _ = fresh.import_json(path)
    assert [p.name for p in added] == ["Calm", "Tutor"]


def test_export_only_one_kind(tmp_path):
    _, book = _book()
    book.save(make_preset("Calm", TtsSettings()))
    book.save(make_preset("Tutor", OmniSettings()))
    assert book.export_json(tmp_path / "tts.json", kind="tts") == 1


def test_import_skips_invalid_presets_and_reports_them(tmp_path):
    path = tmp_path / "mixed.json"
    path.write_text(json.dumps({"format": EXPORT_FORMAT, "version": 1, "presets": [
        {"name": "Good", "kind": "tts", "settings": {"voice": "Ethan", "volume": 70}},
        {"name": "Loud", "kind": "tts", "settings": {"volume": 400}},
        {"name": "Typo", "kind": "omni", "settings": {"temperature": "warm"}},
        {"kind": "omni"},
    ]}), encoding="utf-8")
    _, book = _book()
    added, notices = book.import_json(path)
    assert [p.name for p in added] == ["Good"]
    text = " | ".join(str(n) for n in notices)
    assert "presets[1].tts.volume" in text and "400" in text and "[0, 100]" in text
    assert "presets[2]" in text and "presets[3]" in text


@pytest.mark.parametrize("content", ["not json", json.dumps({"format": "something-else", "presets": []}),
                                     json.dumps({"format": EXPORT_FORMAT, "presets": [{"name": "x", "kind": "tts",
                                                                                       "settings": {"volume": -1}}]})])
def test_import_refuses_files_with_nothing_usable(tmp_path, content):
    path = tmp_path / "bad.json"
    path.write_text(content, encoding="utf-8")
    _, book = _book()
    with pytest.raises(PresetError):
        book.import_json(path)
    assert book.presets == []
