"""Whatever is in the settings file, loading gives valid settings, and what we save comes back."""

from __future__ import annotations

import dataclasses
import json
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qwenvoice.settings.schema import (
    AppSettings,
    AudioSettings,
    ConnectionSettings,
    OmniSettings,
    TtsSettings,
    UiSettings,
    validate,
)
from qwenvoice.settings.store import SettingsStore

SECTIONS = {
    "connection": ConnectionSettings,
    "omni": OmniSettings,
    "tts": TtsSettings,
    "audio": AudioSettings,
    "ui": UiSettings,
}

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**12), max_value=10**12)
    | st.floats(allow_nan=False, allow_infinity=False, width=32)
    | st.sampled_from(["", "pcm", "opus", "Cherry", "Tina", "zh_CN", "dark", "ptt", "custom", "semantic_vad"])
    | st.text(max_size=12)
)
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3), max_leaves=4)


@st.composite
def settings_files(draw):
    data = {}
    if draw(st.booleans()):
        data["schema_version"] = draw(st.integers(min_value=-1, max_value=3))
    for name, cls in SECTIONS.items():
        if draw(st.integers(0, 5)) == 0:
            data[name] = draw(json_values)
            continue
        fields = [f.name for f in dataclasses.fields(cls)]
        chosen = draw(st.lists(st.sampled_from(fields), unique=True, max_size=len(fields)))
        data[name] = {field: draw(json_values) for field in chosen}
    if draw(st.booleans()):
        data["presets"] = draw(st.lists(st.fixed_dictionaries(
            {"name": st.text(max_size=8), "kind": st.sampled_from(["omni", "tts", "x"]),
             "settings": st.dictionaries(st.sampled_from(["voice", "volume", "temperature", "speech_rate"]),
                                         json_values, max_size=3)}), max_size=3))  # fmt: skip
    return data


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(settings_files())
def test_any_file_loads_to_valid_settings_that_save_and_reload(data):
    with tempfile.TemporaryDirectory() as tmp:
        store = SettingsStore(Path(tmp))
        store.path.write_text(json.dumps(data), encoding="utf-8")
        result = store.load()
        assert validate(result.settings) == []
        store.save(result.settings)
        again = store.load()
        assert again.notices == []
        assert again.settings == result.settings


@settings(max_examples=60, deadline=None)
@given(
    temperature=st.none() | st.floats(0, 1.99),
    top_k=st.none() | st.integers(0, 200),
    volume=st.none() | st.integers(0, 100),
    speech_rate=st.none() | st.floats(0.5, 2.0),
    instructions=st.text(max_size=40),
)
def test_valid_values_round_trip_exactly(temperature, top_k, volume, speech_rate, instructions):
    original = AppSettings()
    original.omni = dataclasses.replace(original.omni, temperature=temperature, top_k=top_k, instructions=instructions)
    original.tts = dataclasses.replace(original.tts, volume=volume, speech_rate=speech_rate)
    assert validate(original) == []
    with tempfile.TemporaryDirectory() as tmp:
        store = SettingsStore(Path(tmp))
        store.save(original)
        assert store.load().settings == original
