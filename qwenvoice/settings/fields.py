"""Every user-facing setting declared once: key, type, default, range or choices, label, help, and
what enables it. The settings form builds its rows from :data:`FIELDS`; validation of a whole form
goes through :func:`problems_by_field` (one pass of ``schema.validate``).

- Ranges are the protocol's own (``qwenvoice.protocol.config``), never numbers typed here.
- Which model supports a field is read from ``qwenvoice.protocol.models`` capabilities.
- Labels and help are English source texts marked with ``QT_TRANSLATE_NOOP`` so ``pyside6-lupdate``
  extracts them (context ``SettingsPanel``); the form translates them when it shows them. This
  module stays free of Qt: the marker is a plain function.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final

from qwenvoice.protocol import config, models
from qwenvoice.settings.schema import (
    KEEP_AUDIO,
    LANGUAGES,
    LISTENING_SETUPS,
    OUTPUT_VOLUME,
    REGIONS,
    THEMES,
    AppSettings,
    SettingsError,
    SettingValue,
    validate,
)

TRANSLATION_CONTEXT: Final = "SettingsPanel"


def QT_TRANSLATE_NOOP(context: str, text: str) -> str:  # noqa: N802 - the name lupdate looks for
    """Marks ``text`` for translation without translating it (the UI translates at display time)."""
    return text


class Control(enum.Enum):
    """What kind of row the form builds for a field."""

    NUMBER = "number"  # a NumberField; ``optional`` allows empty = the model's default
    CHOICE = "choice"  # a fixed list of ``choices``
    EDITABLE_CHOICE = "editable_choice"  # suggestions the user may type over (models, voices)
    CHECK = "check"
    TEXT = "text"  # multi-line text
    LINE = "line"  # one line of text
    SLIDER = "slider"
    DEVICE = "device"  # an audio device list filled by the running app
    TURN_MODE = "turn_mode"  # one picker for ``ui.turn_mode`` and ``omni.vad_type``
    NONE = "none"  # set through another field's control


@dataclass(frozen=True, slots=True)
class Choice:
    value: SettingValue  # the settings value
    label: str  # English source text (translated by the form unless ``translated`` is False)
    data: str | int | None = None  # what the widget stores when the value is not a plain str/int
    translated: bool = True

    @property
    def item_data(self) -> SettingValue:
        return self.value if self.data is None else self.data


@dataclass(frozen=True, slots=True)
class Unavailable:
    """Why a field (or one of its choices) is switched off now; the form turns ``reason`` into text."""

    reason: str  # one of the REASON_* codes
    model: str = ""


REASON_NOT_SUPPORTED: Final = "not_supported"
REASON_PUSH_TO_TALK: Final = "push_to_talk"
REASON_SERVER_VAD_ONLY: Final = "server_vad_only"
REASON_IGNORES_SAMPLING: Final = "ignores_sampling"
REASON_NO_TRANSCRIPTION_CHOICE: Final = "no_transcription_choice"
REASON_OPUS_ONLY: Final = "opus_only"
REASON_INSTRUCT_ONLY: Final = "instruct_only"
REASON_HEADPHONES: Final = "headphones"

Condition = Callable[[AppSettings], Unavailable | None]


@dataclass(frozen=True, slots=True)
class FieldSpec:
    key: str  # dotted settings path, e.g. "omni.silence_duration_ms"
    kind: type  # the value's type without None
    control: Control
    label: str = ""  # the row label ("" = none; a check box carries ``text``)
    text: str = ""  # a check box's own text
    help: str = ""  # placeholder or hint shown with the field
    optional: bool = False  # None allowed (empty = the model's default)
    range: config.NumberRange | Callable[[str], config.NumberRange] | None = None
    choices: tuple[Choice, ...] = ()
    enabled_when: tuple[Condition, ...] = ()  # every condition must pass; the first refusal is shown
    choice_offered: Callable[[AppSettings, Choice], bool] | None = None

    @property
    def section(self) -> str:
        return self.key.partition(".")[0]

    @property
    def name(self) -> str:
        return self.key.partition(".")[2]

    @property
    def default(self) -> SettingValue:
        return self.read(_DEFAULTS)

    def read(self, settings: AppSettings) -> SettingValue:
        # ``key`` names a field of a settings section, and every such field holds a SettingValue.
        value: SettingValue = getattr(getattr(settings, self.section), self.name)
        return value

    def write(self, settings: AppSettings, value: SettingValue) -> None:
        setattr(getattr(settings, self.section), self.name, value)

    def number_range(self, settings: AppSettings) -> config.NumberRange | None:
        if callable(self.range):
            model = settings.connection.omni_model if self.section == "omni" else settings.connection.tts_model
            return self.range(model)
        return self.range

    def unavailable(self, settings: AppSettings) -> Unavailable | None:
        for condition in self.enabled_when:
            refusal = condition(settings)
            if refusal is not None:
                return refusal
        return None

    def offered(self, settings: AppSettings) -> tuple[Choice, ...]:
        """The choices the current models allow (all of them when the field has no rule)."""
        if self.choice_offered is None:
            return self.choices
        return tuple(c for c in self.choices if self.choice_offered(settings, c))

    def choice_for(self, value: object) -> Choice | None:
        return next((c for c in self.choices if c.value == value), None)


_DEFAULTS: Final = AppSettings()

# ------------------------------------------------------------------------------------ conditions


def _omni_can(capability: str) -> Condition:
    def check(settings: AppSettings) -> Unavailable | None:
        model = settings.connection.omni_model.strip()
        if getattr(models.omni_capabilities(model), capability):
            return None
        return Unavailable(REASON_NOT_SUPPORTED, model)

    return check


def _tts_can(capability: str, reason: str = REASON_NOT_SUPPORTED) -> Condition:
    def check(settings: AppSettings) -> Unavailable | None:
        model = settings.connection.tts_model.strip()
        return None if getattr(models.tts_capabilities(model), capability) else Unavailable(reason, model)

    return check


def _sampling_honoured(settings: AppSettings) -> Unavailable | None:
    model = settings.connection.omni_model.strip()
    return None if models.omni_capabilities(model).honours_sampling else Unavailable(REASON_IGNORES_SAMPLING, model)


def _transcription_choosable(settings: AppSettings) -> Unavailable | None:
    model = settings.connection.omni_model.strip()
    if models.omni_capabilities(model).transcription_model:
        return None
    return Unavailable(REASON_NO_TRANSCRIPTION_CHOICE, model)


def _voice_detection_on(settings: AppSettings) -> Unavailable | None:
    return Unavailable(REASON_PUSH_TO_TALK) if settings.ui.turn_mode == "ptt" else None


def _server_vad(settings: AppSettings) -> Unavailable | None:
    return None if settings.omni.vad_type == "server_vad" else Unavailable(REASON_SERVER_VAD_ONLY)


def _opus(settings: AppSettings) -> Unavailable | None:
    return None if settings.tts.response_format == "opus" else Unavailable(REASON_OPUS_ONLY)


def _speakers(settings: AppSettings) -> Unavailable | None:
    return Unavailable(REASON_HEADPHONES) if settings.audio.listening_setup == "headphones" else None


def _turn_choice_offered(settings: AppSettings, choice: Choice) -> bool:
    caps = models.omni_capabilities(settings.connection.omni_model)
    return choice.value != "semantic_vad" or caps.supports_semantic_vad


def _format_offered(settings: AppSettings, choice: Choice) -> bool:
    return choice.value in models.tts_capabilities(settings.connection.tts_model).formats


def _sample_rate_offered(settings: AppSettings, choice: Choice) -> bool:
    return choice.value in models.tts_capabilities(settings.connection.tts_model).sample_rates


# ------------------------------------------------------------------------------------ choices

# Suggestions for the model pickers (the fields stay editable: new models work without a release).
OMNI_MODEL_SUGGESTIONS: Final = (
    "qwen3-omni-flash-realtime",
    "qwen3-omni-flash-realtime-2025-12-01",
    "qwen3-omni-flash-realtime-2025-09-15",
    "qwen3.5-omni-plus-realtime",
    "qwen3.5-omni-flash-realtime",
    "qwen3.8-omni-flash-realtime",
    "qwen-omni-turbo-realtime",
)
TTS_MODEL_SUGGESTIONS: Final = (
    "qwen3-tts-flash-realtime",
    "qwen3-tts-flash-realtime-2025-11-27",
    "qwen3-tts-flash-realtime-2025-09-18",
    "qwen3-tts-instruct-flash-realtime",
    "qwen3-tts-vc-realtime-2026-01-15",
    "qwen3-tts-vd-realtime-2026-01-15",
    "qwen-tts-realtime",
)

# The TTS language names; the wire value is shown beside the name (the list itself is the model's).
TTS_LANGUAGE_NAMES: Final[Mapping[str, str]] = {
    "Auto": QT_TRANSLATE_NOOP("SettingsPanel", "Automatic"),
    "Chinese": QT_TRANSLATE_NOOP("SettingsPanel", "Chinese"),
    "English": QT_TRANSLATE_NOOP("SettingsPanel", "English"),
    "German": QT_TRANSLATE_NOOP("SettingsPanel", "German"),
    "Italian": QT_TRANSLATE_NOOP("SettingsPanel", "Italian"),
    "Portuguese": QT_TRANSLATE_NOOP("SettingsPanel", "Portuguese"),
    "Spanish": QT_TRANSLATE_NOOP("SettingsPanel", "Spanish"),
    "Japanese": QT_TRANSLATE_NOOP("SettingsPanel", "Japanese"),
    "Korean": QT_TRANSLATE_NOOP("SettingsPanel", "Korean"),
    "French": QT_TRANSLATE_NOOP("SettingsPanel", "French"),
    "Russian": QT_TRANSLATE_NOOP("SettingsPanel", "Russian"),
}

_REGION_LABELS: Final = {
    "beijing": QT_TRANSLATE_NOOP("SettingsPanel", "Alibaba Cloud — Beijing (China mainland)"),
    "singapore": QT_TRANSLATE_NOOP("SettingsPanel", "Alibaba Cloud — Singapore (international)"),
    "custom": QT_TRANSLATE_NOOP("SettingsPanel", "Custom URL"),
    "offline": QT_TRANSLATE_NOOP("SettingsPanel", "Offline (built-in local server)"),
}
_LISTENING_LABELS: Final = {
    "speakers": QT_TRANSLATE_NOOP("SettingsPanel", "Speakers (the microphone can hear the assistant)"),
    "headphones": QT_TRANSLATE_NOOP("SettingsPanel", "Headphones"),
}
_KEEP_AUDIO_LABELS: Final = {
    "all": QT_TRANSLATE_NOOP("SettingsPanel", "All of it, silences included"),
    "speech": QT_TRANSLATE_NOOP("SettingsPanel", "My speech and the replies (not the silences)"),
    "none": QT_TRANSLATE_NOOP("SettingsPanel", "None (transcript only)"),
}
_THEME_LABELS: Final = {
    "system": QT_TRANSLATE_NOOP("SettingsPanel", "Follow the system"),
    "light": QT_TRANSLATE_NOOP("SettingsPanel", "Light"),
    "dark": QT_TRANSLATE_NOOP("SettingsPanel", "Dark"),
}
# Each language in its own name, so a user can always find theirs; "system" is translated.
LANGUAGE_NATIVE_NAMES: Final[Mapping[str, str]] = {"en": "English", "zh_CN": "简体中文"}
_LANGUAGE_CHOICES: Final = tuple(
    Choice("system", QT_TRANSLATE_NOOP("SettingsPanel", "Follow the system"))
    if value == "system"
    else Choice(value, LANGUAGE_NATIVE_NAMES[value], translated=False)
    for value in LANGUAGES
)

# ------------------------------------------------------------------------------------ the fields


def _number(
    key: str,
    kind: type,
    label: str,
    value_range: config.NumberRange | Callable[[str], config.NumberRange],
    *conditions: Condition,
    optional: bool = True,
) -> FieldSpec:
    return FieldSpec(key, kind, Control.NUMBER, label, optional=optional, range=value_range, enabled_when=conditions)


_SAMPLING = (_sampling_honoured,)
_PROSODY = (_tts_can("supports_prosody"),)
_INSTRUCT = (_tts_can("supports_instructions", REASON_INSTRUCT_ONLY),)

FIELDS: Final[tuple[FieldSpec, ...]] = (
    # --- connection
    FieldSpec("connection.region", str, Control.CHOICE, QT_TRANSLATE_NOOP("SettingsPanel", "Region:"),
              choices=tuple(Choice(r, _REGION_LABELS[r]) for r in REGIONS)),
    FieldSpec("connection.custom_url", str, Control.LINE, QT_TRANSLATE_NOOP("SettingsPanel", "URL:")),
    FieldSpec("connection.workspace_id", str, Control.LINE, QT_TRANSLATE_NOOP("SettingsPanel", "Workspace ID:"),
              help=QT_TRANSLATE_NOOP("SettingsPanel", "Optional with Beijing or Singapore: connect through "
                                                      "this workspace's endpoint (needed for qwen3.8).")),
    FieldSpec("connection.omni_model", str, Control.EDITABLE_CHOICE, QT_TRANSLATE_NOOP("SettingsPanel", "Model:"),
              choices=tuple(Choice(m, m, translated=False) for m in OMNI_MODEL_SUGGESTIONS)),
    FieldSpec("connection.tts_model", str, Control.EDITABLE_CHOICE, QT_TRANSLATE_NOOP("SettingsPanel", "Model:"),
              choices=tuple(Choice(m, m, translated=False) for m in TTS_MODEL_SUGGESTIONS)),
    # --- conversation (Omni)
    FieldSpec("omni.voice", str, Control.EDITABLE_CHOICE, QT_TRANSLATE_NOOP("SettingsPanel", "Voice:")),
    FieldSpec("omni.modalities", tuple, Control.CHOICE, QT_TRANSLATE_NOOP("SettingsPanel", "Replies:"),
              choices=(Choice(("text", "audio"), QT_TRANSLATE_NOOP("SettingsPanel", "Speech and text"), "text,audio"),
                       Choice(("text",), QT_TRANSLATE_NOOP("SettingsPanel", "Text only"), "text"))),
    FieldSpec("omni.instructions", str, Control.TEXT, QT_TRANSLATE_NOOP("SettingsPanel", "Instructions:"),
              help=QT_TRANSLATE_NOOP("SettingsPanel", "System prompt: who the assistant is and how it should answer.")),
    FieldSpec("ui.turn_mode", str, Control.TURN_MODE, QT_TRANSLATE_NOOP("SettingsPanel", "Turn detection:"),
              choices=(Choice("off", QT_TRANSLATE_NOOP("SettingsPanel", "Off (push-to-talk)")),
                       Choice("server_vad", QT_TRANSLATE_NOOP("SettingsPanel", "Server voice detection (server_vad)")),
                       Choice("semantic_vad",
                              QT_TRANSLATE_NOOP("SettingsPanel", "Semantic voice detection (semantic_vad)"))),
              choice_offered=_turn_choice_offered),
    FieldSpec("omni.vad_type", str, Control.NONE),  # chosen with ui.turn_mode
    _number("omni.vad_threshold", float, QT_TRANSLATE_NOOP("SettingsPanel", "Threshold:"), config.VAD_THRESHOLD,
            _voice_detection_on, optional=False),
    _number("omni.silence_duration_ms", int, QT_TRANSLATE_NOOP("SettingsPanel", "Silence (ms):"),
            config.SILENCE_DURATION_MS, _voice_detection_on, optional=False),
    _number("omni.prefix_padding_ms", int, QT_TRANSLATE_NOOP("SettingsPanel", "Prefix padding (ms):"),
            config.PREFIX_PADDING_MS, _voice_detection_on, optional=False),
    _number("omni.idle_timeout_ms", int, QT_TRANSLATE_NOOP("SettingsPanel", "Idle timeout (ms):"),
            config.IDLE_TIMEOUT_MS, _omni_can("supports_idle_timeout"), _voice_detection_on, _server_vad),
    FieldSpec("omni.input_transcription", bool, Control.CHECK, QT_TRANSLATE_NOOP("SettingsPanel", "Input:"),
              text=QT_TRANSLATE_NOOP("SettingsPanel", "Transcribe what I say"),
              enabled_when=(_transcription_choosable,)),
    _number("omni.temperature", float, QT_TRANSLATE_NOOP("SettingsPanel", "Temperature:"), config.TEMPERATURE,
            *_SAMPLING),
    _number("omni.top_p", float, QT_TRANSLATE_NOOP("SettingsPanel", "Top p:"), config.TOP_P, *_SAMPLING),
    _number("omni.top_k", int, QT_TRANSLATE_NOOP("SettingsPanel", "Top k:"), config.TOP_K, *_SAMPLING),
    _number("omni.max_tokens", int, QT_TRANSLATE_NOOP("SettingsPanel", "Max tokens:"), config.max_tokens_range),
    _number("omni.repetition_penalty", float, QT_TRANSLATE_NOOP("SettingsPanel", "Repetition penalty:"),
            config.REPETITION_PENALTY, *_SAMPLING),
    _number("omni.presence_penalty", float, QT_TRANSLATE_NOOP("SettingsPanel", "Presence penalty:"),
            config.PRESENCE_PENALTY, *_SAMPLING),
    _number("omni.seed", int, QT_TRANSLATE_NOOP("SettingsPanel", "Seed:"), config.SEED, *_SAMPLING),
    FieldSpec("omni.smooth_output", bool, Control.CHOICE, QT_TRANSLATE_NOOP("SettingsPanel", "Style:"), optional=True,
              choices=(Choice(None, QT_TRANSLATE_NOOP("SettingsPanel", "Model decides"), "auto"),
                       Choice(True, QT_TRANSLATE_NOOP("SettingsPanel", "Conversational"), "on"),
                       Choice(False, QT_TRANSLATE_NOOP("SettingsPanel", "Formal"), "off")),
              enabled_when=(_omni_can("supports_smooth_output"),)),
    # --- speech (TTS)
    FieldSpec("tts.voice", str, Control.EDITABLE_CHOICE, QT_TRANSLATE_NOOP("SettingsPanel", "Voice:")),
    FieldSpec("tts.language_type", str, Control.CHOICE, QT_TRANSLATE_NOOP("SettingsPanel", "Language:"),
              choices=tuple(Choice(value, TTS_LANGUAGE_NAMES[value]) for value in models.TTS_LANGUAGES)),
    FieldSpec("tts.mode", str, Control.CHOICE, QT_TRANSLATE_NOOP("SettingsPanel", "Mode:"),
              choices=(Choice("server_commit",
                              QT_TRANSLATE_NOOP("SettingsPanel", "Server decides when to speak (server_commit)")),
                       Choice("commit", QT_TRANSLATE_NOOP("SettingsPanel", "Speak when text is committed (commit)")))),
    FieldSpec("tts.response_format", str, Control.CHOICE, QT_TRANSLATE_NOOP("SettingsPanel", "Format:"),
              choices=tuple(Choice(f, f.upper(), translated=False) for f in models.TTS_FORMATS),
              choice_offered=_format_offered),
    FieldSpec("tts.sample_rate", int, Control.CHOICE, QT_TRANSLATE_NOOP("SettingsPanel", "Sample rate:"),
              choices=tuple(Choice(r, f"{r} Hz", translated=False) for r in models.TTS_SAMPLE_RATES),
              choice_offered=_sample_rate_offered),
    _number("tts.bit_rate", int, QT_TRANSLATE_NOOP("SettingsPanel", "Bit rate (kbps):"), config.BIT_RATE,
            _tts_can("supports_bit_rate"), _opus),
    _number("tts.speech_rate", float, QT_TRANSLATE_NOOP("SettingsPanel", "Speech rate:"), config.SPEECH_RATE,
            *_PROSODY),
    _number("tts.pitch_rate", float, QT_TRANSLATE_NOOP("SettingsPanel", "Pitch:"), config.PITCH_RATE, *_PROSODY),
    _number("tts.volume", int, QT_TRANSLATE_NOOP("SettingsPanel", "Volume:"), config.TTS_VOLUME, *_PROSODY),
    FieldSpec("tts.instructions", str, Control.TEXT, QT_TRANSLATE_NOOP("SettingsPanel", "Instructions:"),
              help=QT_TRANSLATE_NOOP("SettingsPanel",
                                     "How to speak, e.g. “warm and unhurried, like a bedtime story”."),
              optional=True, enabled_when=_INSTRUCT),
    FieldSpec("tts.optimize_instructions", bool, Control.CHECK,
              text=QT_TRANSLATE_NOOP("SettingsPanel", "Let the model refine the instructions"),
              optional=True, enabled_when=_INSTRUCT),
    # --- audio
    FieldSpec("audio.input_device", str, Control.DEVICE, QT_TRANSLATE_NOOP("SettingsPanel", "Input device:"),
              optional=True),
    FieldSpec("audio.output_device", str, Control.DEVICE, QT_TRANSLATE_NOOP("SettingsPanel", "Output device:"),
              optional=True),
    FieldSpec("audio.output_volume", int, Control.SLIDER, QT_TRANSLATE_NOOP("SettingsPanel", "Volume:"),
              range=OUTPUT_VOLUME),
    FieldSpec("audio.listening_setup", str, Control.CHOICE, QT_TRANSLATE_NOOP("SettingsPanel", "I listen with:"),
              choices=tuple(Choice(s, _LISTENING_LABELS[s]) for s in LISTENING_SETUPS)),
    FieldSpec("audio.echo_cancellation", bool, Control.CHECK,
              text=QT_TRANSLATE_NOOP("SettingsPanel", "Cancel the assistant's echo from the microphone"),
              enabled_when=(_speakers,)),
    FieldSpec("audio.half_duplex", bool, Control.CHECK,
              text=QT_TRANSLATE_NOOP(
                  "SettingsPanel", "Mute the microphone while the assistant speaks (interrupt with the button or key)"
              ),
              enabled_when=(_speakers,)),
    FieldSpec("audio.keep_audio", str, Control.CHOICE,
              QT_TRANSLATE_NOOP("SettingsPanel", "Saved conversations keep:"),
              choices=tuple(Choice(k, _KEEP_AUDIO_LABELS[k]) for k in KEEP_AUDIO)),
    # --- appearance
    FieldSpec("ui.language", str, Control.CHOICE, QT_TRANSLATE_NOOP("SettingsPanel", "Language:"),
              choices=_LANGUAGE_CHOICES),
    FieldSpec("ui.theme", str, Control.CHOICE, QT_TRANSLATE_NOOP("SettingsPanel", "Theme:"),
              choices=tuple(Choice(t, _THEME_LABELS[t]) for t in THEMES)),
)

BY_KEY: Final[Mapping[str, FieldSpec]] = {spec.key: spec for spec in FIELDS}


def field(key: str) -> FieldSpec:
    return BY_KEY[key]


def problems_by_field(settings: AppSettings) -> dict[str, SettingsError]:
    """The first problem of each field (one validation pass); presets are checked when saved."""
    found: dict[str, SettingsError] = {}
    for error in validate(settings):
        if not error.field.startswith("presets["):
            found.setdefault(error.field, error)
    return found

