"""The settings file: JSON in the user config dir, written atomically, versioned, never fatal to read.

- Location: ``platformdirs.user_config_dir("qwenvoice")/settings.json``; ``QWENVOICE_CONFIG_DIR``
  overrides the folder (tests, portable installs).
- Writing: a temporary file in the same folder, flushed and fsynced, then ``os.replace`` — a crash
  leaves either the old or the new file, never half of one.
- Reading: a file that is not UTF-8 JSON (or not an object, or nested too deep to read) is moved aside as
  ``settings.json.corrupt-<timestamp>`` and defaults are used; a field with a bad value falls back to
  its default. Both come back as notices for the UI. Files from older schema versions go through
  ``MIGRATIONS`` step by step; a file from a newer version is read as far as it is understood and
  backed up before we overwrite it.
- The API key is never part of this file (see ``secrets.py``).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from qwenvoice.private_files import open_private, private_dir
from qwenvoice.settings.coerce import LoadNotice
from qwenvoice.settings.schema import (
    SCHEMA_VERSION,
    AppSettings,
    SettingsError,
    sanitize,
    settings_from_dict,
    settings_to_dict,
    validate,
)

log = logging.getLogger(__name__)

APP_NAME = "qwenvoice"
SETTINGS_FILE_NAME = "settings.json"
CONFIG_DIR_ENV = "QWENVOICE_CONFIG_DIR"


def default_config_dir() -> Path:
    override = os.environ.get(CONFIG_DIR_ENV)
    if override:
        return Path(override)
    import platformdirs

    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))


def _migrate_0_to_1(data: dict[str, object]) -> dict[str, object]:
    # Version 0 (files without "schema_version") kept the turn mode under "omni"; it is a UI choice.
    omni = data.get("omni")
    if isinstance(omni, dict) and "turn_mode" in omni:
        ui = data.setdefault("ui", {})
        if isinstance(ui, dict):
            ui.setdefault("turn_mode", omni.pop("turn_mode"))
    return data


# MIGRATIONS[n] turns a version-n dict into a version-(n+1) dict.
MIGRATIONS: dict[int, Callable[[dict[str, object]], dict[str, object]]] = {0: _migrate_0_to_1}


@dataclass(slots=True)
class LoadResult:
    settings: AppSettings
    notices: list[LoadNotice] = field(default_factory=list)
    backup_path: Path | None = None  # where an unreadable or newer file was moved/copied to
    from_version: int = SCHEMA_VERSION


def migrate(data: dict[str, object], notices: list[LoadNotice]) -> tuple[dict[str, object], int]:
    raw_version = data.get("schema_version", 0)
    version = raw_version if isinstance(raw_version, int) and not isinstance(raw_version, bool) else 0
    start = version
    while version < SCHEMA_VERSION:
        step = MIGRATIONS.get(version)
        if step is not None:
            data = step(data)
        version += 1
    if start > SCHEMA_VERSION:
        notices.append(
            LoadNotice(
                "schema_version",
                f"the file was written by a newer qwenvoice (version {start}); settings it added are ignored",
            )
        )
    data["schema_version"] = SCHEMA_VERSION
    return data, start


class _Damaged(ValueError):
    """The file's bytes are not a settings object; the message says why, briefly."""


def _parse(raw: bytes) -> dict[str, object]:
    """The JSON object in ``raw``; _Damaged for anything else (not UTF-8, not JSON, nested too deep)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _Damaged(f"not UTF-8 text: byte {exc.start} is 0x{raw[exc.start]:02x}") from exc
    try:
        data = json.loads(text)
    except RecursionError as exc:  # e.g. 100k nested lists: json recurses once per level
        raise _Damaged("nested too deeply") from exc
    except ValueError as exc:
        raise _Damaged(str(exc)) from exc
    if not isinstance(data, dict):
        raise _Damaged("not a JSON object")
    return data


class SettingsStore:
    def __init__(self, config_dir: Path | None = None) -> None:
        self.config_dir = config_dir if config_dir is not None else default_config_dir()

    @property
    def path(self) -> Path:
        return self.config_dir / SETTINGS_FILE_NAME

    def load(self) -> LoadResult:
        """Read the settings; never raises for a bad file (defaults + notices instead)."""
        notices: list[LoadNotice] = []
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return LoadResult(AppSettings())
        except OSError as exc:
            notices.append(LoadNotice("settings", f"could not be read ({exc.strerror}); defaults are used"))
            return LoadResult(AppSettings(), notices)
        try:
            data = _parse(raw)
        except _Damaged as exc:
            backup = self._move_aside("corrupt")
            where = f"; the damaged file was kept as {backup.name}" if backup else ""
            notices.append(LoadNotice("settings", f"the settings file was damaged ({exc}){where}; defaults are used"))
            log.warning("settings: %s", notices[-1])
            if backup is not None:
                with contextlib.suppress(OSError):  # a read-only folder: defaults in memory still work
                    self.save(AppSettings())
            return LoadResult(AppSettings(), notices, backup)
        data, from_version = migrate(data, notices)
        backup_path = None
        if from_version > SCHEMA_VERSION:
            backup_path = self._copy_aside(f"v{from_version}")
        settings = sanitize(settings_from_dict(data, notices), notices)
        for notice in notices:
            log.warning("settings: %s", notice)
        return LoadResult(settings, notices, backup_path, from_version)

    def save(self, settings: AppSettings) -> Path:
        """Write ``settings`` atomically; refuses invalid settings (SettingsError with the first problem)."""
        problems = validate(settings)
        if problems:
            raise problems[0]
        private_dir(self.config_dir)
        payload = json.dumps(settings_to_dict(settings), ensure_ascii=False, indent=2, sort_keys=False) + "\n"
        fd, tmp_name = tempfile.mkstemp(prefix=".settings-", suffix=".tmp", dir=self.config_dir)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(payload)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp_name, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp_name)
            raise
        return self.path

    def _aside_path(self, tag: str) -> Path:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        candidate = self.path.with_name(f"{SETTINGS_FILE_NAME}.{tag}-{stamp}")
        n = 1
        while candidate.exists():
            n += 1
            candidate = self.path.with_name(f"{SETTINGS_FILE_NAME}.{tag}-{stamp}-{n}")
        return candidate

    def _move_aside(self, tag: str) -> Path | None:
        target = self._aside_path(tag)
        try:
            os.replace(self.path, target)
        except OSError:
            return None
        return target

    def _copy_aside(self, tag: str) -> Path | None:
        target = self._aside_path(tag)
        try:
            data = self.path.read_bytes()
            with os.fdopen(open_private(target, os.O_WRONLY | os.O_TRUNC), "wb") as fh:
                fh.write(data)
        except OSError:
            return None
        return target


__all__ = ["LoadNotice", "LoadResult", "SettingsError", "SettingsStore", "default_config_dir", "migrate"]
