"""Named presets (voice + instructions + parameters) for the Omni and TTS sections.

A :class:`PresetBook` edits the ``presets`` list of an ``AppSettings`` in place: save (insert or
overwrite), rename, delete, and JSON import/export. Names are unique per kind, compared without
case. Imported presets are validated with the same rules as the settings themselves; an invalid
one is refused with the field, the allowed values and the value.
"""

from __future__ import annotations

import copy
import json
import os
import tempfile
from pathlib import Path

from qwenvoice.settings.coerce import LoadNotice
from qwenvoice.settings.schema import (
    OmniSettings,
    Preset,
    SettingsError,
    TtsSettings,
    preset_errors,
    preset_from_dict,
    preset_to_dict,
)

EXPORT_FORMAT = "qwenvoice-presets"
EXPORT_VERSION = 1


class PresetError(ValueError):
    """A preset operation that cannot be done; the message is user-facing."""


def make_preset(name: str, section: OmniSettings | TtsSettings, model: str = "") -> Preset:
    section = copy.deepcopy(section)
    if isinstance(section, OmniSettings):
        return Preset(name.strip(), "omni", model, omni=section)
    return Preset(name.strip(), "tts", model, tts=section)


def _key(name: str) -> str:
    return name.strip().casefold()


class PresetBook:
    def __init__(self, presets: list[Preset]) -> None:
        self.presets = presets  # shared with the owning AppSettings on purpose

    def names(self, kind: str) -> list[str]:
        return [p.name for p in self.presets if p.kind == kind]

    def find(self, kind: str, name: str) -> Preset | None:
        for preset in self.presets:
            if preset.kind == kind and _key(preset.name) == _key(name):
                return preset
        return None

    def save(self, preset: Preset, *, overwrite: bool = False) -> Preset:
        problems = preset_errors(preset)
        if problems:
            raise problems[0]
        existing = self.find(preset.kind, preset.name)
        stored = copy.deepcopy(preset)
        if existing is not None:
            if not overwrite:
                raise PresetError(f"A preset named {preset.name!r} already exists.")
            self.presets[self.presets.index(existing)] = stored
        else:
            self.presets.append(stored)
        return stored

    def rename(self, kind: str, old: str, new: str) -> Preset:
        preset = self.find(kind, old)
        if preset is None:
            raise PresetError(f"There is no preset named {old!r}.")
        if not new.strip():
            raise SettingsError("preset.name", "a non-empty name", new)
        clash = self.find(kind, new)
        if clash is not None and clash is not preset:
            raise PresetError(f"A preset named {new!r} already exists.")
        preset.name = new.strip()
        return preset

    def delete(self, kind: str, name: str) -> None:
        preset = self.find(kind, name)
        if preset is None:
            raise PresetError(f"There is no preset named {name!r}.")
        self.presets.remove(preset)

    def unique_name(self, kind: str, name: str) -> str:
        if self.find(kind, name) is None:
            return name
        n = 2
        while self.find(kind, f"{name} ({n})") is not None:
            n += 1
        return f"{name} ({n})"

    # ------------------------------------------------------------------------------ files

    def export_json(self, path: Path, *, kind: str | None = None, names: list[str] | None = None) -> int:
        chosen = [
            p for p in self.presets
            if (kind is None or p.kind == kind) and (names is None or any(_key(n) == _key(p.name) for n in names))
        ]
        payload = {
            "format": EXPORT_FORMAT,
            "version": EXPORT_VERSION,
            "presets": [preset_to_dict(p) for p in chosen],
        }
        text = json.dumps(payload, ensure_ascii=False, indent=2) + "\n"
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".presets-", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
        return len(chosen)

    def import_json(self, path: Path) -> tuple[list[Preset], list[LoadNotice]]:
        """Add the presets of an export file; clashing names get a " (2)" suffix.

        Raises PresetError when the file is not a preset export at all; individual invalid presets
        are skipped and reported as notices (field, allowed values, value).
        """
        try:
            data: object = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise PresetError(f"{path.name} could not be read as JSON: {exc}") from None
        if isinstance(data, list):  # a bare list of presets is accepted too
            data = {"format": EXPORT_FORMAT, "presets": data}
        raw_presets = data.get("presets") if isinstance(data, dict) else None
        if not isinstance(data, dict) or data.get("format") != EXPORT_FORMAT or not isinstance(raw_presets, list):
            raise PresetError(f"{path.name} is not a qwenvoice preset file.")
        notices: list[LoadNotice] = []
        added: list[Preset] = []
        for index, raw in enumerate(raw_presets):
            where = f"presets[{index}]"
            local: list[LoadNotice] = []
            preset = preset_from_dict(raw, where, local)
            if preset is None or local:
                notices.extend(local)
                continue
            problems = preset_errors(preset, index)
            if problems:
                notices.extend(
                    LoadNotice(p.field, f"{p.value!r} is not allowed; allowed: {p.allowed}") for p in problems
                )
                continue
            preset.name = self.unique_name(preset.kind, preset.name)
            self.presets.append(preset)
            added.append(preset)
        if not added and notices:
            raise PresetError("No preset could be imported: " + "; ".join(str(n) for n in notices))
        return added, notices
