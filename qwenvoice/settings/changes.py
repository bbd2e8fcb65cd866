"""What an Apply changed, so the controller knows whether a live ``session.update`` is enough.

The server refuses some changes mid-session: the endpoint and model are fixed by the connection,
the voice cannot change after audio was produced (``cannot_update_voice``), and the input audio
format cannot change after audio was sent. :func:`diff` names the changed fields and says which
sessions can be updated in place and which need a reconnect (and why, for the notice).
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass, field

from qwenvoice.settings.schema import AppSettings


@dataclass(frozen=True, slots=True)
class SettingsDiff:
    changed: frozenset[str]  # dotted paths, e.g. "omni.temperature"
    omni_session_changed: bool = False  # something in the Omni session.update differs
    tts_session_changed: bool = False
    omni_reconnect_reasons: tuple[str, ...] = ()  # non-empty: reconnect instead of (or after) update
    tts_reconnect_reasons: tuple[str, ...] = ()
    audio_changed: bool = False
    appearance_changed: bool = False
    presets_changed: bool = False
    voice_changed: bool = field(default=False)

    @property
    def omni_needs_reconnect(self) -> bool:
        return bool(self.omni_reconnect_reasons)

    @property
    def tts_needs_reconnect(self) -> bool:
        return bool(self.tts_reconnect_reasons)


def _changed_fields(prefix: str, old: object, new: object) -> set[str]:
    out: set[str] = set()
    for f in dataclasses.fields(old):  # type: ignore[arg-type]
        if getattr(old, f.name) != getattr(new, f.name):
            out.add(f"{prefix}.{f.name}")
    return out


_SECTIONS = ("connection", "omni", "tts", "audio", "ui")


def changed_fields(old: AppSettings, new: AppSettings) -> frozenset[str]:
    """The dotted paths whose values differ ("presets" stands for the whole preset list)."""
    changed: set[str] = set()
    for name in _SECTIONS:
        changed |= _changed_fields(name, getattr(old, name), getattr(new, name))
    if old.presets != new.presets:
        changed.add("presets")
    return frozenset(changed)


def carry_edits(edited_from: AppSettings, edited: AppSettings, latest: AppSettings) -> AppSettings:
    """``latest`` with the fields a form changed (``edited`` against ``edited_from``) put on top.

    The settings form shows a copy while the app may change the settings meanwhile (the toolbar's
    turn mode, the echo self-test); following ``latest`` keeps an Apply from writing back values that
    were current when the form was filled, and the user's own edits still win.
    """
    merged = latest.copy()
    for path in changed_fields(edited_from, edited):
        if path == "presets":
            merged.presets = copy.deepcopy(edited.presets)
            continue
        section, _, name = path.partition(".")
        setattr(getattr(merged, section), name, copy.deepcopy(getattr(getattr(edited, section), name)))
    return merged


def diff(old: AppSettings, new: AppSettings, *, omni_audio_produced: bool = False) -> SettingsDiff:
    """Compare two settings; ``omni_audio_produced`` = the live Omni session has already spoken."""
    changed = set(changed_fields(old, new))
    presets_changed = "presets" in changed

    endpoint_changed = old.connection.endpoint_url() != new.connection.endpoint_url() or (
        old.connection.region != new.connection.region
    )
    omni_reasons: list[str] = []
    if endpoint_changed:
        omni_reasons.append("the server changed")
    if old.connection.omni_model != new.connection.omni_model:
        omni_reasons.append("the model changed")
    voice_changed = old.omni.voice != new.omni.voice
    if voice_changed and omni_audio_produced:
        omni_reasons.append("the voice cannot change after the assistant has spoken")
    tts_reasons: list[str] = []
    if endpoint_changed:
        tts_reasons.append("the server changed")
    if old.connection.tts_model != new.connection.tts_model:
        tts_reasons.append("the model changed")

    try:
        omni_session_changed = old.omni_config().to_session(old.connection.omni_model) != new.omni_config().to_session(
            new.connection.omni_model
        )
    except ValueError:  # an invalid side (should not happen after validation): treat as changed
        omni_session_changed = True
    try:
        tts_session_changed = old.tts_config().to_session(old.connection.tts_model) != new.tts_config().to_session(
            new.connection.tts_model
        )
    except ValueError:
        tts_session_changed = True

    return SettingsDiff(
        changed=frozenset(changed),
        omni_session_changed=omni_session_changed,
        tts_session_changed=tts_session_changed,
        omni_reconnect_reasons=tuple(omni_reasons),
        tts_reconnect_reasons=tuple(tts_reasons),
        audio_changed=any(c.startswith("audio.") for c in changed),
        appearance_changed=any(c in ("ui.language", "ui.theme") for c in changed),
        presets_changed=presets_changed,
        voice_changed=voice_changed,
    )
