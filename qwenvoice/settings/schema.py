"""The settings tree: what the user chooses, versioned, and checked against the protocol's own rules.

The value ranges live in ``qwenvoice.protocol.config`` (the code that builds ``session.update``);
this module only maps settings fields onto those config objects and back, so a range is written
once. ``validate()`` returns *every* problem (not just the first), each with the settings field,
the allowed values and the value, which is what the settings panel shows inline.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TypeAlias, TypeVar

from qwenvoice.protocol import models
from qwenvoice.protocol.config import ConfigError, NumberRange, OmniSessionConfig, TtsSessionConfig, TurnDetection
from qwenvoice.settings.coerce import JsonValue, LoadNotice, from_mapping, to_mapping

SCHEMA_VERSION = 1

REGIONS = ("beijing", "singapore", "custom", "offline")
LANGUAGES = ("system", "en", "zh_CN")
THEMES = ("system", "light", "dark")
TURN_MODES = ("vad", "ptt")
VAD_TYPES = ("server_vad", "semantic_vad")
LISTENING_SETUPS = ("speakers", "headphones")
KEEP_AUDIO = ("all", "speech", "none")  # what a saved conversation keeps of its audio
PRESET_KINDS = ("omni", "tts")
OUTPUT_VOLUME = NumberRange(0, 100, integer=True)  # percent, applied in the app's mixer

# The value of any one field of a settings section (what the settings form shows and reads back).
SettingValue: TypeAlias = str | int | float | bool | tuple[str, ...] | None

_OMNI_DEFAULTS = OmniSessionConfig()
_VAD_DEFAULTS = TurnDetection()
_TTS_DEFAULTS = TtsSessionConfig()


class SettingsError(ValueError):
    """An invalid setting: the settings path, the allowed values (human text) and the value."""

    def __init__(self, field: str, allowed: str, value: object) -> None:
        self.field = field
        self.allowed = allowed
        self.value = value
        super().__init__(f"{field}: {value!r} is not allowed; allowed: {allowed}")


def _choice(field: str, value: object, allowed: tuple[str, ...]) -> SettingsError | None:
    if value in allowed:
        return None
    return SettingsError(field, "one of: " + ", ".join(allowed), value)


# --------------------------------------------------------------------------------------------- sections


@dataclass(slots=True)
class ConnectionSettings:
    region: str = "beijing"
    custom_url: str = ""
    omni_model: str = models.DEFAULT_OMNI_MODEL
    tts_model: str = models.DEFAULT_TTS_MODEL
    #: A Model Studio workspace: with Beijing or Singapore, the workspace endpoint of that region is
    #: used (qwen3.8 is served only there). Empty: the region's shared endpoint.
    workspace_id: str = ""

    def endpoint_url(self) -> str | None:
        """The realtime endpoint without ``?model=``; None means "the built-in offline server"."""
        if self.region == "offline":
            return None
        if self.region == "custom":
            return self.custom_url.strip() or None
        workspace = self.workspace_id.strip()
        if workspace and self.region in models.WORKSPACE_HOST_REGIONS:
            return models.workspace_url(workspace, self.region)
        return models.ENDPOINTS[self.region]

    def uses_workspace(self) -> bool:
        return self.region in models.WORKSPACE_HOST_REGIONS and bool(self.workspace_id.strip())

    def problems(self) -> list[SettingsError]:
        found: list[SettingsError] = []
        if err := _choice("connection.region", self.region, REGIONS):
            found.append(err)
        if self.region == "custom":
            url = self.custom_url.strip()
            if not url.startswith(("wss://", "ws://")) or len(url) <= len("wss://"):
                found.append(SettingsError("connection.custom_url", "a ws:// or wss:// URL", self.custom_url))
        workspace = self.workspace_id
        if not isinstance(workspace, str) or (workspace.strip() and not models.is_workspace_id(workspace.strip())):
            found.append(SettingsError("connection.workspace_id",
                                       "a workspace id (letters, digits and hyphens) or empty", workspace))
        for name in ("omni_model", "tts_model"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip() or any(c.isspace() for c in value):
                found.append(SettingsError(f"connection.{name}", "a model name without spaces", value))
        if not found and models.is_tts_model(self.omni_model):
            found.append(SettingsError("connection.omni_model", "an Omni realtime model", self.omni_model))
        if not found and not models.is_tts_model(self.tts_model):
            found.append(SettingsError("connection.tts_model", "a TTS realtime model", self.tts_model))
        return found


@dataclass(slots=True)
class OmniSettings:
    """The user-facing Omni fields; ``to_config`` turns them into the ``session.update`` config."""

    voice: str = _OMNI_DEFAULTS.voice
    instructions: str = _OMNI_DEFAULTS.instructions
    modalities: tuple[str, ...] = tuple(_OMNI_DEFAULTS.modalities)
    vad_type: str = _VAD_DEFAULTS.type
    vad_threshold: float = _VAD_DEFAULTS.threshold
    silence_duration_ms: int = _VAD_DEFAULTS.silence_duration_ms
    prefix_padding_ms: int = _VAD_DEFAULTS.prefix_padding_ms
    idle_timeout_ms: int | None = _VAD_DEFAULTS.idle_timeout_ms
    input_transcription: bool = _OMNI_DEFAULTS.input_audio_transcription is not None
    temperature: float | None = _OMNI_DEFAULTS.temperature
    top_p: float | None = _OMNI_DEFAULTS.top_p
    top_k: int | None = _OMNI_DEFAULTS.top_k
    max_tokens: int | None = _OMNI_DEFAULTS.max_tokens
    repetition_penalty: float | None = _OMNI_DEFAULTS.repetition_penalty
    presence_penalty: float | None = _OMNI_DEFAULTS.presence_penalty
    seed: int | None = _OMNI_DEFAULTS.seed
    smooth_output: bool | None = _OMNI_DEFAULTS.smooth_output

    def to_config(self, model: str, turn_mode: str = "vad") -> OmniSessionConfig:
        """The config to send for ``model``; fields the model does not support are left out."""
        caps = models.omni_capabilities(model)
        vad_type = self.vad_type if self.vad_type == "server_vad" or caps.supports_semantic_vad else "server_vad"
        turn_detection: TurnDetection | None = None
        if turn_mode != "ptt":
            turn_detection = dataclasses.replace(
                _VAD_DEFAULTS,
                type=vad_type,
                threshold=self.vad_threshold,
                silence_duration_ms=self.silence_duration_ms,
                prefix_padding_ms=self.prefix_padding_ms,
                idle_timeout_ms=self.idle_timeout_ms if caps.supports_idle_timeout else None,
            )
        # Models that ignore sampling values (turbo) are not sent them; the panel greys them out.
        sampling = caps.honours_sampling
        # The transcription model is fixed per model family; None = not configurable by the client.
        transcription = caps.transcription_model
        return dataclasses.replace(
            _OMNI_DEFAULTS,
            # A saved voice the model does not offer becomes its default (the session says so).
            voice=caps.voice_for(self.voice) if isinstance(self.voice, str) else self.voice,
            input_audio_format=caps.input_audio_format,
            output_audio_format=caps.output_audio_format,
            instructions=self.instructions,
            modalities=tuple(self.modalities),
            turn_detection=turn_detection,
            input_audio_transcription=transcription if self.input_transcription and transcription else None,
            smooth_output=self.smooth_output if caps.supports_smooth_output else None,
            temperature=self.temperature if sampling else None,
            top_p=self.top_p if sampling else None,
            top_k=self.top_k if sampling else None,
            max_tokens=self.max_tokens,
            repetition_penalty=self.repetition_penalty if sampling else None,
            presence_penalty=self.presence_penalty if sampling else None,
            seed=self.seed if sampling else None,
        )


# Config error paths → the settings field that holds the value.
_OMNI_FIELD_BY_CONFIG = {
    "session.voice": "voice",
    "session.instructions": "instructions",
    "session.modalities": "modalities",
    "session.turn_detection.type": "vad_type",
    "session.turn_detection.threshold": "vad_threshold",
    "session.turn_detection.silence_duration_ms": "silence_duration_ms",
    "session.turn_detection.prefix_padding_ms": "prefix_padding_ms",
    "session.turn_detection.idle_timeout_ms": "idle_timeout_ms",
    "session.input_audio_transcription": "input_transcription",
    "session.input_audio_transcription.model": "input_transcription",
    "session.smooth_output": "smooth_output",
    "session.temperature": "temperature",
    "session.top_p": "top_p",
    "session.top_k": "top_k",
    "session.max_tokens": "max_tokens",
    "session.repetition_penalty": "repetition_penalty",
    "session.presence_penalty": "presence_penalty",
    "session.seed": "seed",
}


@dataclass(slots=True)
class TtsSettings:
    voice: str = _TTS_DEFAULTS.voice
    mode: str = _TTS_DEFAULTS.mode
    language_type: str = _TTS_DEFAULTS.language_type
    response_format: str = _TTS_DEFAULTS.response_format
    sample_rate: int = _TTS_DEFAULTS.sample_rate
    speech_rate: float | None = _TTS_DEFAULTS.speech_rate
    volume: int | None = _TTS_DEFAULTS.volume
    pitch_rate: float | None = _TTS_DEFAULTS.pitch_rate
    bit_rate: int | None = _TTS_DEFAULTS.bit_rate
    instructions: str | None = _TTS_DEFAULTS.instructions
    optimize_instructions: bool | None = _TTS_DEFAULTS.optimize_instructions

    def to_config(self, model: str) -> TtsSessionConfig:
        caps = models.tts_capabilities(model)
        prosody = caps.supports_prosody
        instruct = caps.supports_instructions
        return dataclasses.replace(
            _TTS_DEFAULTS,
            voice=caps.voice_for(self.voice) if isinstance(self.voice, str) else self.voice,
            mode=self.mode,
            language_type=self.language_type,
            response_format=self.response_format,
            sample_rate=self.sample_rate,
            speech_rate=self.speech_rate if prosody else None,
            volume=self.volume if prosody else None,
            pitch_rate=self.pitch_rate if prosody else None,
            bit_rate=self.bit_rate if self.response_format == "opus" and caps.supports_bit_rate else None,
            instructions=(self.instructions or None) if instruct else None,
            optimize_instructions=self.optimize_instructions if instruct else None,
        )


_TTS_FIELD_BY_CONFIG = {f"session.{f.name}": f.name for f in dataclasses.fields(TtsSettings)}


@dataclass(slots=True)
class AudioSettings:
    # Stable identities "name (host API)"; None follows the system default device.
    input_device: str | None = None
    output_device: str | None = None
    output_volume: int = 100  # percent, applied in the app's mixer
    listening_setup: str = "speakers"  # "speakers": echo can reach the mic; "headphones": it cannot
    echo_cancellation: bool = True
    # Speakers only: mute the mic while the assistant speaks (echo too strong to cancel); interrupting
    # then works by button or key only. Files without it (older versions) read the default.
    half_duplex: bool = False
    # Saved conversations keep all the audio, the user's speech only (not the silences of hands-free),
    # or none. Files without it (older versions) read the default.
    keep_audio: str = "speech"

    def problems(self) -> list[SettingsError]:
        found: list[SettingsError] = []
        try:
            OUTPUT_VOLUME.check("audio.output_volume", self.output_volume)
        except ConfigError as exc:
            found.append(SettingsError("audio.output_volume", exc.allowed, self.output_volume))
        if err := _choice("audio.listening_setup", self.listening_setup, LISTENING_SETUPS):
            found.append(err)
        if err := _choice("audio.keep_audio", self.keep_audio, KEEP_AUDIO):
            found.append(err)
        for name in ("echo_cancellation", "half_duplex"):
            if not isinstance(getattr(self, name), bool):
                found.append(SettingsError(f"audio.{name}", "true or false", getattr(self, name)))
        return found


@dataclass(slots=True)
class UiSettings:
    language: str = "system"
    theme: str = "system"
    turn_mode: str = "vad"

    def problems(self) -> list[SettingsError]:
        found: list[SettingsError] = []
        for name, allowed in (("language", LANGUAGES), ("theme", THEMES), ("turn_mode", TURN_MODES)):
            if err := _choice(f"ui.{name}", getattr(self, name), allowed):
                found.append(err)
        return found


@dataclass(slots=True)
class ToolsSettings:
    """What the model can do: the built-in tools (current time, calculator, day info) and MCP servers,
    each a command line started over stdio (``--mcp`` adds more for one run)."""

    builtin: bool = True
    mcp_servers: tuple[str, ...] = ()

    def problems(self) -> list[SettingsError]:
        found: list[SettingsError] = []
        if not isinstance(self.builtin, bool):
            found.append(SettingsError("tools.builtin", "true or false", self.builtin))
        if not all(isinstance(line, str) and line.strip() for line in self.mcp_servers):
            found.append(SettingsError("tools.mcp_servers", "command lines (non-empty text)", self.mcp_servers))
        return found


@dataclass(slots=True)
class Preset:
    """A named voice + instructions + parameters for one of the two models."""

    name: str = ""
    kind: str = "omni"  # "omni" | "tts"
    model: str = ""  # the model it was saved with (informational; applies to any model)
    omni: OmniSettings | None = None
    tts: TtsSettings | None = None


@dataclass(slots=True)
class AppSettings:
    schema_version: int = SCHEMA_VERSION
    connection: ConnectionSettings = field(default_factory=ConnectionSettings)
    omni: OmniSettings = field(default_factory=OmniSettings)
    tts: TtsSettings = field(default_factory=TtsSettings)
    audio: AudioSettings = field(default_factory=AudioSettings)
    ui: UiSettings = field(default_factory=UiSettings)
    tools: ToolsSettings = field(default_factory=ToolsSettings)
    presets: list[Preset] = field(default_factory=list)

    # ------------------------------------------------------------------ derived session configs

    def omni_config(self, model: str | None = None) -> OmniSessionConfig:
        return self.omni.to_config(model or self.connection.omni_model, self.ui.turn_mode)

    def tts_config(self, model: str | None = None) -> TtsSessionConfig:
        return self.tts.to_config(model or self.connection.tts_model)

    def copy(self) -> AppSettings:
        return copy.deepcopy(self)


# --------------------------------------------------------------------------------------------- validation


_Section = TypeVar("_Section", OmniSettings, TtsSettings)


def _section_errors(
    section: _Section, build: Callable[[_Section], object], field_by_config: dict[str, str], prefix: str,
    default_voice: str | None = None,
) -> list[SettingsError]:
    """All problems of an Omni/TTS section: validate, reset the offending field, repeat.

    The config's ``validate`` stops at the first problem; resetting that field to its default and
    validating again finds the next one, so every wrong field is reported at once.
    """
    defaults = type(section)()
    if default_voice:  # the model's own default voice (another model's could be refused as well)
        defaults.voice = default_voice
    current = section
    found: list[SettingsError] = []
    seen: set[str] = set()
    for _ in range(len(dataclasses.fields(section)) + 1):
        try:
            build(current)
        except ConfigError as exc:
            name = field_by_config.get(exc.field) or field_by_config.get(exc.field.split("[")[0])
            if name is None or name in seen:
                found.append(SettingsError(f"{prefix}.{exc.field}", exc.allowed, exc.value))
                break
            seen.add(name)
            found.append(SettingsError(f"{prefix}.{name}", exc.allowed, exc.value))
            current = dataclasses.replace(current, **{name: getattr(defaults, name)})
        else:
            break
    return found


def omni_errors(omni: OmniSettings, model: str, turn_mode: str = "vad") -> list[SettingsError]:
    # Validate the VAD fields even in push-to-talk mode: they are kept for when VAD is switched on.
    found = []
    if err := _choice("omni.vad_type", omni.vad_type, VAD_TYPES):
        found.append(err)
        omni = dataclasses.replace(omni, vad_type="server_vad")
    return found + _section_errors(omni, lambda s: _as_typed(s.to_config(model, "vad"), s.voice).validate(model),
                                   _OMNI_FIELD_BY_CONFIG, "omni", models.omni_capabilities(model).default_voice)


_Config = TypeVar("_Config", OmniSessionConfig, TtsSessionConfig)


def _as_typed(config: _Config, voice: str) -> _Config:
    """The config with the voice as the user typed it: the form refuses a voice the model lacks (a
    session only replaces a saved one, when the model is chosen elsewhere, e.g. with ``--model``)."""
    config.voice = voice
    return config


def tts_errors(tts: TtsSettings, model: str) -> list[SettingsError]:
    return _section_errors(tts, lambda s: _as_typed(s.to_config(model), s.voice).validate(model),
                           _TTS_FIELD_BY_CONFIG, "tts", models.tts_capabilities(model).default_voice)


def preset_errors(preset: Preset, index: int | None = None) -> list[SettingsError]:
    where = f"presets[{index}]" if index is not None else "preset"
    found: list[SettingsError] = []
    if not preset.name.strip():
        found.append(SettingsError(f"{where}.name", "a non-empty name", preset.name))
    if err := _choice(f"{where}.kind", preset.kind, PRESET_KINDS):
        return [*found, err]
    if preset.kind == "omni":
        if preset.omni is None:
            found.append(SettingsError(f"{where}.omni", "Omni parameters", None))
        else:
            model = preset.model if preset.model and not models.is_tts_model(preset.model) else None
            for e in omni_errors(preset.omni, model or models.DEFAULT_OMNI_MODEL):
                found.append(SettingsError(f"{where}.{e.field}", e.allowed, e.value))
    else:
        if preset.tts is None:
            found.append(SettingsError(f"{where}.tts", "TTS parameters", None))
        else:
            model = preset.model if preset.model and models.is_tts_model(preset.model) else None
            for e in tts_errors(preset.tts, model or models.DEFAULT_TTS_MODEL):
                found.append(SettingsError(f"{where}.{e.field}", e.allowed, e.value))
    return found


def validate(settings: AppSettings) -> list[SettingsError]:
    """Every problem in ``settings`` (empty list = valid)."""
    found = settings.connection.problems()
    omni_model = settings.connection.omni_model
    tts_model = settings.connection.tts_model
    found += omni_errors(settings.omni, omni_model, settings.ui.turn_mode)
    found += tts_errors(settings.tts, tts_model)
    found += settings.audio.problems()
    found += settings.ui.problems()
    found += settings.tools.problems()
    names: set[tuple[str, str]] = set()
    for index, preset in enumerate(settings.presets):
        found += preset_errors(preset, index)
        key = (preset.kind, preset.name.strip().casefold())
        if key in names:
            found.append(SettingsError(f"presets[{index}].name", "a name not used by another preset", preset.name))
        names.add(key)
    return found


# --------------------------------------------------------------------------------------------- JSON


def settings_to_dict(settings: AppSettings) -> dict[str, JsonValue]:
    data = to_mapping(settings)
    data["schema_version"] = SCHEMA_VERSION
    data["presets"] = [preset_to_dict(p) for p in settings.presets]
    return data


def preset_to_dict(preset: Preset) -> dict[str, JsonValue]:
    data: dict[str, JsonValue] = {"name": preset.name, "kind": preset.kind, "model": preset.model}
    section = preset.omni if preset.kind == "omni" else preset.tts
    data["settings"] = to_mapping(section) if section is not None else {}
    return data


def preset_from_dict(data: object, where: str, notices: list[LoadNotice]) -> Preset | None:
    if not isinstance(data, dict):
        notices.append(LoadNotice(where, "not an object; skipped"))
        return None
    name, kind, model = data.get("name"), data.get("kind"), data.get("model", "")
    if not isinstance(name, str) or not name.strip() or kind not in PRESET_KINDS:
        notices.append(LoadNotice(where, "needs a name and a kind (omni or tts); skipped"))
        return None
    model = model if isinstance(model, str) else ""
    if kind == "omni":
        return Preset(name.strip(), kind, model, omni=from_mapping(OmniSettings, data.get("settings"), where, notices))
    return Preset(name.strip(), kind, model, tts=from_mapping(TtsSettings, data.get("settings"), where, notices))


def settings_from_dict(data: Mapping[str, object], notices: list[LoadNotice]) -> AppSettings:
    """Read a (migrated) settings dict; wrong fields fall back to defaults and are reported."""
    connection = from_mapping(ConnectionSettings, data.get("connection"), "connection", notices)
    omni = from_mapping(OmniSettings, data.get("omni"), "omni", notices)
    tts = from_mapping(TtsSettings, data.get("tts"), "tts", notices)
    audio = from_mapping(AudioSettings, data.get("audio"), "audio", notices)
    ui = from_mapping(UiSettings, data.get("ui"), "ui", notices)
    tools = from_mapping(ToolsSettings, data.get("tools"), "tools", notices)  # absent in older files: defaults
    presets: list[Preset] = []
    raw_presets = data.get("presets", [])
    if not isinstance(raw_presets, list):
        notices.append(LoadNotice("presets", "not a list; ignored"))
        raw_presets = []
    for index, raw in enumerate(raw_presets):
        preset = preset_from_dict(raw, f"presets[{index}]", notices)
        if preset is not None:
            presets.append(preset)
    return AppSettings(SCHEMA_VERSION, connection=connection, omni=omni, tts=tts, audio=audio, ui=ui, tools=tools,
                       presets=presets)


def sanitize(settings: AppSettings, notices: list[LoadNotice]) -> AppSettings:
    """Replace every invalid value by its default (with a notice), so a loaded file is always usable."""
    for _ in range(64):  # each round fixes at least one field
        problems = validate(settings)
        if not problems:
            return settings
        fixed_any = False
        for problem in problems:
            if _reset_field(settings, problem.field):
                notices.append(LoadNotice(problem.field, f"{problem.value!r} is not allowed "
                                                         f"(allowed: {problem.allowed}); the default is used"))
                fixed_any = True
        if not fixed_any:
            break
    if validate(settings):  # still wrong in a way no single field explains: start from defaults
        notices.append(LoadNotice("settings", "could not be repaired; defaults are used"))
        return AppSettings()
    return settings


_SECTION_DEFAULTS: dict[str, object] = {
    "connection": ConnectionSettings(),
    "omni": OmniSettings(),
    "tts": TtsSettings(),
    "audio": AudioSettings(),
    "ui": UiSettings(),
}


def _reset_field(settings: AppSettings, path: str) -> bool:
    if path.startswith("presets["):
        index = int(path[len("presets["):path.index("]")])
        if 0 <= index < len(settings.presets):
            del settings.presets[index]
            return True
        return False
    section_name, _, name = path.partition(".")
    section = getattr(settings, section_name, None)
    if section_name not in _SECTION_DEFAULTS or not hasattr(section, name):
        return False
    if section_name == "connection" and name == "custom_url":
        # A custom endpoint without a usable URL: go back to the default region instead.
        settings.connection.region = ConnectionSettings().region
        return True
    default = getattr(_SECTION_DEFAULTS[section_name], name, None)
    if name == "voice" and section_name == "omni":  # the model's own default voice, not another model's
        default = models.omni_capabilities(settings.connection.omni_model).default_voice
    elif name == "voice" and section_name == "tts":
        default = models.tts_capabilities(settings.connection.tts_model).default_voice or default
    if getattr(section, name) == default:
        return False
    setattr(section, name, default)
    if section_name == "connection" and name == "region":
        settings.connection.custom_url = ""
    return True
