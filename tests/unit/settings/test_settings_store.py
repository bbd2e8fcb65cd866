"""The settings file: atomic, versioned, and never fatal to read."""

from __future__ import annotations

import json
import os

import pytest

from qwenvoice.settings.schema import SCHEMA_VERSION, AppSettings, SettingsError
from qwenvoice.settings.store import CONFIG_DIR_ENV, SettingsStore, default_config_dir


def test_env_overrides_the_config_dir(tmp_path, monkeypatch):
    monkeypatch.setenv(CONFIG_DIR_ENV, str(tmp_path / "cfg"))
    assert default_config_dir() == tmp_path / "cfg"
    assert SettingsStore().path == tmp_path / "cfg" / "settings.json"


def test_missing_file_gives_defaults_without_notices(tmp_path):
    result = SettingsStore(tmp_path).load()
    assert result.settings == AppSettings() and result.notices == []


def test_save_and_load_round_trip(tmp_path):
    store = SettingsStore(tmp_path / "nested")
    settings = AppSettings()
    settings.omni.temperature = 1.1
    settings.ui.theme = "dark"
    store.save(settings)
    data = json.loads(store.path.read_text(encoding="utf-8"))
    assert data["schema_version"] == SCHEMA_VERSION and data["omni"]["temperature"] == 1.1
    assert store.load().settings == settings
    # no temporary files are left behind
    assert sorted(p.name for p in store.config_dir.iterdir()) == ["settings.json"]


def test_save_refuses_invalid_settings_and_keeps_the_old_file(tmp_path):
    store = SettingsStore(tmp_path)
    store.save(AppSettings())
    before = store.path.read_bytes()
    bad = AppSettings()
    bad.tts.volume = 300
    with pytest.raises(SettingsError) as info:
        store.save(bad)
    assert info.value.field == "tts.volume" and info.value.allowed == "an integer in [0, 100]"
    assert store.path.read_bytes() == before


@pytest.mark.parametrize("content", ["{not json", "[1, 2, 3]", "", "\x00\x01garbage"])
def test_corrupt_file_is_backed_up_and_defaults_are_used(tmp_path, content):
    store = SettingsStore(tmp_path)
    store.path.write_text(content, encoding="utf-8")
    result = store.load()
    assert result.settings == AppSettings()
    assert result.backup_path is not None and result.backup_path.read_text(encoding="utf-8") == content
    assert any("damaged" in n.message for n in result.notices)
    # the damaged file was replaced by a valid one with the defaults
    again = store.load()
    assert again.notices == [] and again.settings == AppSettings()


def test_out_of_range_values_in_the_file_are_replaced_with_notices(tmp_path):
    store = SettingsStore(tmp_path)
    store.save(AppSettings())
    data = json.loads(store.path.read_text(encoding="utf-8"))
    data["omni"]["vad_threshold"] = 7
    data["tts"]["sample_rate"] = 12345
    store.path.write_text(json.dumps(data), encoding="utf-8")
    result = store.load()
    assert result.settings.omni.vad_threshold == 0.5 and result.settings.tts.sample_rate == 24000
    fields = {n.field for n in result.notices}
    assert fields == {"omni.vad_threshold", "tts.sample_rate"}


def test_version_0_file_is_migrated(tmp_path):
    store = SettingsStore(tmp_path)
    store.path.write_text(json.dumps({"omni": {"turn_mode": "ptt", "voice": "Ethan"}}), encoding="utf-8")
    result = store.load()
    assert result.from_version == 0
    assert result.settings.ui.turn_mode == "ptt" and result.settings.omni.voice == "Ethan"
    assert result.notices == []


def test_newer_file_is_read_and_backed_up(tmp_path):
    store = SettingsStore(tmp_path)
    store.path.write_text(json.dumps({"schema_version": SCHEMA_VERSION + 5, "ui": {"theme": "light"},
                                      "future_section": {"x": 1}}), encoding="utf-8")
    result = store.load()
    assert result.settings.ui.theme == "light"
    assert result.backup_path is not None and result.backup_path.exists()
    assert any(n.field == "schema_version" for n in result.notices)


def test_unreadable_file_does_not_crash(tmp_path):
    if os.geteuid() == 0:
        store = SettingsStore(tmp_path)
        store.path.mkdir()  # a directory where the file should be: reading fails even as root
    else:
        store = SettingsStore(tmp_path)
        store.path.write_text("{}", encoding="utf-8")
        store.path.chmod(0)
    result = store.load()
    assert result.settings == AppSettings() and result.notices


@pytest.mark.parametrize(
    ("kind", "content"),
    [
        ("latin-1", '{"ui": {"theme": "dark"}, "omni": {"instructions": "café"}}'.encode("latin-1")),
        ("deeply nested", b"[" * 100_000 + b"]" * 100_000),
        ("deeply nested object", b'{"a": ' * 100_000 + b"1" + b"}" * 100_000),
    ],
    ids=["latin-1", "nested-lists", "nested-objects"],
)
def test_a_file_that_is_not_utf8_or_nests_too_deep_is_damaged_not_fatal(tmp_path, kind, content, caplog):
    store = SettingsStore(tmp_path)
    store.path.write_bytes(content)
    with caplog.at_level("WARNING", logger="qwenvoice.settings.store"):
        result = store.load()
    assert result.settings == AppSettings(), kind
    assert result.backup_path is not None and result.backup_path.read_bytes() == content
    assert any("damaged" in n.message for n in result.notices)
    assert "damaged" in caplog.text  # the log says so too, not only the window
    again = store.load()
    assert again.notices == [] and again.settings == AppSettings()
