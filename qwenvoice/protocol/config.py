"""Typed, validated session configuration for ``session.update``.

``OmniSessionConfig`` and ``TtsSessionConfig`` hold what the user can set, check it against the
documented ranges and the model's capabilities (``models.py``), and convert to and from the wire
``session`` object. Every refusal is a ``ConfigError`` naming the dotted field, the allowed values and
the value given, so the settings panel can point at the field and the offline server can answer with
an ``error`` event whose ``param`` is that field.

Conventions of ``to_session``:
- Optional tuning values that are ``None`` are omitted (the server default applies).
- ``turn_detection=None`` is sent as ``null``: that is how manual (push-to-talk) mode is chosen.
- ``input_audio_transcription=None`` is sent as ``null`` (transcription off), as the official SDK does.
- An empty ``voice`` is omitted (the server refuses an empty string).
- Models of the nested dialect (qwen3.8, see ``models.py``) get the voice and the formats under
  ``audio.input`` / ``audio.output`` instead of at the top level.
- ``tool_choice`` goes out only with ``tools`` (models without tools get neither).
``from_session`` ignores keys it does not know (``object``, ``id``, ``model`` ... of the server's echo)
but refuses known keys whose value has the wrong type.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Final

from .models import (
    DIALECT_NESTED,
    FLASH_VOICES,
    OMNI_INPUT_RATE,
    OMNI_OUTPUT_RATE,
    TTS_LANGUAGES,
    omni_capabilities,
    tts_capabilities,
)

__all__ = [
    "INSTRUCTIONS_TOKEN_LIMIT",
    "ConfigError",
    "NumberRange",
    "OmniSessionConfig",
    "TtsSessionConfig",
    "TurnDetection",
    "estimate_tokens",
]

INSTRUCTIONS_TOKEN_LIMIT: Final = 1600
SEED_MAX: Final = 2**31 - 1


class ConfigError(ValueError):
    """A session setting outside what the protocol or the model allows.

    ``field`` is dotted as on the wire (``session.turn_detection.threshold``) and doubles as the error
    event's ``param``; ``allowed`` is human text; ``message`` is the server-style sentence.
    """

    code: Final = "invalid_value"

    def __init__(self, field: str, value: object, allowed: str, message: str | None = None) -> None:
        self.field = field
        self.value = value
        self.allowed = allowed
        self.message = message or f"{field}: {value!r} is not allowed; allowed: {allowed}"
        super().__init__(f"{field}: {value!r} is not allowed; allowed: {allowed}")

    @property
    def param(self) -> str:
        return self.field

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.field, self.value, self.allowed, self.message))


def estimate_tokens(text: str) -> int:
    """A conservative (high) token estimate for the instruction length limit.

    Each non-ASCII character (Chinese, Japanese, Korean, accented letters ...) counts as one token, and
    ASCII text as one token per four characters, rounded up. Real tokenizers usually need fewer tokens,
    so text we accept is not refused by the server for length.
    """
    ascii_chars = sum(1 for ch in text if ord(ch) < 128)
    return (len(text) - ascii_chars) + math.ceil(ascii_chars / 4)


# ---- value checks --------------------------------------------------------------------------------


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _number_allowed(low: float | None, high: float | None, low_open: bool, high_open: bool) -> str:
    left = "(" if low_open else "["
    right = ")" if high_open else "]"
    if low is not None and high is not None:
        return f"a number in {left}{low}, {high}{right}"
    if low is not None:
        return f"a number {'>' if low_open else '>='} {low}"
    return f"a number {'<' if high_open else '<='} {high}"


def _int_allowed(low: int | None, high: int | None) -> str:
    if low is not None and high is not None:
        return f"an integer in [{low}, {high}]"
    if low is not None:
        return f"an integer >= {low}"
    return f"an integer <= {high}"


def _check_number(
    name: str,
    value: object,
    low: float | None,
    high: float | None,
    *,
    low_open: bool = False,
    high_open: bool = False,
) -> None:
    allowed = _number_allowed(low, high, low_open, high_open)
    if not _is_number(value):
        raise ConfigError(name, value, allowed)
    number = float(value)  # type: ignore[arg-type]
    if not math.isfinite(number):
        raise ConfigError(name, value, allowed)
    if low is not None and (number < low or (low_open and number == low)):
        raise ConfigError(name, value, allowed)
    if high is not None and (number > high or (high_open and number == high)):
        raise ConfigError(name, value, allowed)


def _check_int(name: str, value: object, low: int | None, high: int | None) -> None:
    allowed = _int_allowed(low, high)
    if not isinstance(value, int) or isinstance(value, bool):
        raise ConfigError(name, value, allowed)
    if (low is not None and value < low) or (high is not None and value > high):
        raise ConfigError(name, value, allowed)


@dataclass(frozen=True, slots=True)
class NumberRange:
    """A documented numeric range. ``allowed()`` is the text every refusal of it quotes, so the
    settings form shows the same words as the errors, and each number is written once (below)."""

    low: float | None
    high: float | None
    integer: bool = False
    low_open: bool = False
    high_open: bool = False

    def allowed(self) -> str:
        if self.integer:
            return _int_allowed(_as_int(self.low), _as_int(self.high))
        return _number_allowed(self.low, self.high, self.low_open, self.high_open)

    def check(self, name: str, value: object) -> None:
        if self.integer:
            _check_int(name, value, _as_int(self.low), _as_int(self.high))
        else:
            _check_number(name, value, self.low, self.high, low_open=self.low_open, high_open=self.high_open)


def _as_int(bound: float | None) -> int | None:
    return None if bound is None else int(bound)


VAD_THRESHOLD: Final = NumberRange(-1.0, 1.0)
SILENCE_DURATION_MS: Final = NumberRange(200, 6000, integer=True)
PREFIX_PADDING_MS: Final = NumberRange(0, 5000, integer=True)
IDLE_TIMEOUT_MS: Final = NumberRange(5000, 30000, integer=True)
TEMPERATURE: Final = NumberRange(0.0, 2.0, high_open=True)
TOP_P: Final = NumberRange(0.0, 1.0, low_open=True)
TOP_K: Final = NumberRange(0, None, integer=True)
REPETITION_PENALTY: Final = NumberRange(0.0, None, low_open=True)
PRESENCE_PENALTY: Final = NumberRange(-2.0, 2.0)
SPEECH_RATE: Final = NumberRange(0.5, 2.0)
PITCH_RATE: Final = NumberRange(0.5, 2.0)
TTS_VOLUME: Final = NumberRange(0, 100, integer=True)
BIT_RATE: Final = NumberRange(6, 510, integer=True)
SEED: Final = NumberRange(-1, SEED_MAX, integer=True)


def max_tokens_range(model: str) -> NumberRange:
    """Output tokens: at least one, at most the model's published ceiling (when there is one)."""
    return NumberRange(1, omni_capabilities(model).max_output_tokens, integer=True)


def _check_choice(name: str, value: object, choices: tuple[Any, ...]) -> None:
    if type(value) not in (str, int) or value not in choices:
        raise ConfigError(name, value, "one of: " + ", ".join(str(c) for c in choices))


def _check_str(name: str, value: object) -> None:
    if not isinstance(value, str):
        raise ConfigError(name, value, "a string")


def _check_bool(name: str, value: object, *, optional: bool = False) -> None:
    if isinstance(value, bool) or (optional and value is None):
        return
    raise ConfigError(name, value, "true, false or null" if optional else "true or false")


def _unsupported(name: str, value: object, model: str) -> ConfigError:
    return ConfigError(name, value, f"not set (not supported by {model})")


# ---- wire readers (from_session) -----------------------------------------------------------------
# Only the shape is converted here (lists to tuples, objects to dataclasses); ranges are checked by
# validate(), so a value has one place that judges it.


def _integral(value: Any) -> Any:
    # JSON peers sometimes write 800.0 for 800
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


# ---- Omni ----------------------------------------------------------------------------------------

_VAD_TYPES: Final = ("server_vad", "semantic_vad")
_INPUT_FORMATS: Final = ("pcm16", "pcm")
_OUTPUT_FORMATS: Final = ("pcm24", "pcm16", "pcm")
_MODALITY_SETS: Final = ({"text"}, {"text", "audio"})


def _check_modalities(modalities: object) -> None:
    if (
        isinstance(modalities, tuple | list)
        and all(isinstance(m, str) for m in modalities)
        and len(set(modalities)) == len(modalities)
        and set(modalities) in _MODALITY_SETS
    ):
        return
    shown = list(modalities) if isinstance(modalities, tuple | list) else modalities
    raise ConfigError(
        "session.modalities",
        shown,
        "['text'] or ['text', 'audio']",
        message=f"Invalid modalities: {shown!r}. Supported combinations are: ['text'] and ['audio', 'text'].",
    )


@dataclass(slots=True)
class TurnDetection:
    """Server-side voice activity detection. ``OmniSessionConfig.turn_detection=None`` = manual turns."""

    type: str = "server_vad"
    threshold: float = 0.5
    silence_duration_ms: int = 800
    prefix_padding_ms: int = 300
    idle_timeout_ms: int | None = None
    create_response: bool = True
    interrupt_response: bool = True

    def validate(self, model: str, prefix: str = "session.turn_detection") -> None:
        caps = omni_capabilities(model)
        _check_choice(f"{prefix}.type", self.type, _VAD_TYPES)
        if self.type == "semantic_vad" and not caps.supports_semantic_vad:
            raise ConfigError(f"{prefix}.type", self.type, f"server_vad (semantic_vad is not supported by {model})")
        VAD_THRESHOLD.check(f"{prefix}.threshold", self.threshold)
        SILENCE_DURATION_MS.check(f"{prefix}.silence_duration_ms", self.silence_duration_ms)
        PREFIX_PADDING_MS.check(f"{prefix}.prefix_padding_ms", self.prefix_padding_ms)
        if self.idle_timeout_ms is not None:
            if not caps.supports_idle_timeout:
                raise _unsupported(f"{prefix}.idle_timeout_ms", self.idle_timeout_ms, model)
            if self.type != "server_vad":
                raise ConfigError(f"{prefix}.idle_timeout_ms", self.idle_timeout_ms, "not set (server_vad only)")
            IDLE_TIMEOUT_MS.check(f"{prefix}.idle_timeout_ms", self.idle_timeout_ms)
        _check_bool(f"{prefix}.create_response", self.create_response)
        _check_bool(f"{prefix}.interrupt_response", self.interrupt_response)

    def to_wire(self) -> dict[str, Any]:
        wire: dict[str, Any] = {
            "type": self.type,
            "threshold": self.threshold,
            "prefix_padding_ms": self.prefix_padding_ms,
            "silence_duration_ms": self.silence_duration_ms,
        }
        if self.idle_timeout_ms is not None:
            wire["idle_timeout_ms"] = self.idle_timeout_ms
        wire["create_response"] = self.create_response
        wire["interrupt_response"] = self.interrupt_response
        return wire

    @classmethod
    def from_wire(cls, wire: object, prefix: str = "session.turn_detection") -> TurnDetection:
        if not isinstance(wire, dict):
            raise ConfigError(prefix, wire, "an object or null")
        defaults = cls()
        return cls(
            type=wire.get("type", defaults.type),
            threshold=wire.get("threshold", defaults.threshold),
            silence_duration_ms=_integral(wire.get("silence_duration_ms", defaults.silence_duration_ms)),
            prefix_padding_ms=_integral(wire.get("prefix_padding_ms", defaults.prefix_padding_ms)),
            idle_timeout_ms=_integral(wire.get("idle_timeout_ms")),
            create_response=wire.get("create_response", defaults.create_response),
            interrupt_response=wire.get("interrupt_response", defaults.interrupt_response),
        )


@dataclass(slots=True)
class OmniSessionConfig:
    """The ``session`` of a Qwen-Omni-Realtime ``session.update``. Sampling values: None = not sent."""

    modalities: tuple[str, ...] = ("text", "audio")
    voice: str = "Cherry"
    instructions: str = ""
    input_audio_format: str = "pcm16"
    output_audio_format: str = "pcm24"
    smooth_output: bool | None = None
    turn_detection: TurnDetection | None = field(default_factory=TurnDetection)
    input_audio_transcription: str | None = "gummy-realtime-v1"
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    max_tokens: int | None = None
    repetition_penalty: float | None = None
    presence_penalty: float | None = None
    seed: int | None = None
    tools: list[dict[str, Any]] = field(default_factory=list)
    tool_choice: str | None = None  # sent only with tools ("auto" is what the service echoes)

    @classmethod
    def for_model(cls, model: str, **overrides: Any) -> OmniSessionConfig:
        """Defaults that suit ``model`` (its default voice, formats and transcription model), then overrides."""
        caps = omni_capabilities(model)
        values: dict[str, Any] = {
            "voice": caps.default_voice,
            "input_audio_format": caps.input_audio_format,
            "output_audio_format": caps.output_audio_format,
            "input_audio_transcription": caps.transcription_model,
        }
        values.update(overrides)
        return cls(**values)

    @property
    def manual_turns(self) -> bool:
        """True in push-to-talk mode: the client commits turns and asks for responses."""
        return self.turn_detection is None

    def validate(self, model: str) -> None:
        caps = omni_capabilities(model)
        _check_modalities(self.modalities)
        _check_str("session.voice", self.voice)
        if not caps.takes_voice(self.voice):
            offered = ", ".join(caps.voices) if caps.voices else "the server's default (leave it empty)"
            raise ConfigError(
                "session.voice",
                self.voice,
                f"a voice of {model}: " + offered,
                message=f"Voice '{self.voice}' is not supported.",
            )
        _check_str("session.instructions", self.instructions)
        _check_choice("session.input_audio_format", self.input_audio_format, _INPUT_FORMATS)
        output_formats = caps.output_formats if caps.known else _OUTPUT_FORMATS
        _check_choice("session.output_audio_format", self.output_audio_format, output_formats)
        if caps.dialect == DIALECT_NESTED:
            _check_choice("session.input_audio_format", self.input_audio_format, ("pcm",))
        if self.smooth_output is not None:
            _check_bool("session.smooth_output", self.smooth_output, optional=True)
            if not caps.supports_smooth_output:
                raise _unsupported("session.smooth_output", self.smooth_output, model)
        if self.turn_detection is not None:
            if not isinstance(self.turn_detection, TurnDetection):
                raise ConfigError("session.turn_detection", self.turn_detection, "an object or null")
            self.turn_detection.validate(model)
        if self.input_audio_transcription is not None and (
            not isinstance(self.input_audio_transcription, str) or not self.input_audio_transcription
        ):
            raise ConfigError(
                "session.input_audio_transcription.model", self.input_audio_transcription, "a model name or null"
            )
        if (
            caps.transcription_fixed
            and self.input_audio_transcription is not None
            and self.input_audio_transcription != caps.transcription_model
        ):
            raise ConfigError(
                "session.input_audio_transcription.model",
                self.input_audio_transcription,
                f"{caps.transcription_model} or null (fixed for {model})",
            )
        if self.temperature is not None:
            TEMPERATURE.check("session.temperature", self.temperature)
        if self.top_p is not None:
            TOP_P.check("session.top_p", self.top_p)
        if self.top_k is not None:
            TOP_K.check("session.top_k", self.top_k)
        if self.max_tokens is not None:
            max_tokens_range(model).check("session.max_tokens", self.max_tokens)
        if self.repetition_penalty is not None:
            REPETITION_PENALTY.check("session.repetition_penalty", self.repetition_penalty)
        if self.presence_penalty is not None:
            PRESENCE_PENALTY.check("session.presence_penalty", self.presence_penalty)
        if self.seed is not None:
            SEED.check("session.seed", self.seed)  # -1 = a random seed
        if not isinstance(self.tools, list) or not all(isinstance(tool, dict) for tool in self.tools):
            raise ConfigError("session.tools", self.tools, "a list of tool objects")
        if self.tools and not caps.supports_tools:
            raise _unsupported("session.tools", self.tools, model)
        if self.tool_choice is not None:
            _check_choice("session.tool_choice", self.tool_choice, ("auto", "none", "required"))

    def to_session(self, model: str) -> dict[str, Any]:
        """The validated wire ``session`` object (see the module docstring for what is omitted)."""
        self.validate(model)
        session: dict[str, Any] = {"modalities": list(self.modalities)}
        nested = omni_capabilities(model).dialect == DIALECT_NESTED
        if self.voice and not nested:
            session["voice"] = self.voice
        session["instructions"] = self.instructions
        if nested:
            # As the SDK (dashscope 2.0.2) builds it for qwen3.8; not yet verified against the service.
            output: dict[str, Any] = {"format": {"type": "pcm", "sample_rate": OMNI_OUTPUT_RATE}}
            if self.voice:
                output["voice"] = self.voice
            session["audio"] = {"input": {"format": {"type": "pcm", "sample_rate": OMNI_INPUT_RATE}},
                                "output": output}
        else:
            session["input_audio_format"] = self.input_audio_format
            session["output_audio_format"] = self.output_audio_format
        if self.smooth_output is not None:
            session["smooth_output"] = self.smooth_output
        session["turn_detection"] = self.turn_detection.to_wire() if self.turn_detection is not None else None
        session["input_audio_transcription"] = (
            {"model": self.input_audio_transcription} if self.input_audio_transcription is not None else None
        )
        for name in ("temperature", "top_p", "top_k", "max_tokens", "repetition_penalty", "presence_penalty", "seed"):
            value = getattr(self, name)
            if value is not None:
                session[name] = value
        if self.tools:
            session["tools"] = list(self.tools)
            if self.tool_choice is not None:
                session["tool_choice"] = self.tool_choice
        return session

    @classmethod
    def from_session(cls, session: object, model: str) -> OmniSessionConfig:
        """Reads a wire ``session`` (a client's update or the server's echo); validates it."""
        if not isinstance(session, dict):
            raise ConfigError("session", session, "an object")
        defaults = cls.for_model(model)
        modalities = session.get("modalities", defaults.modalities)
        if isinstance(modalities, list):
            modalities = tuple(modalities)
        if "turn_detection" in session:
            raw_vad = session["turn_detection"]
            turn_detection = None if raw_vad is None else TurnDetection.from_wire(raw_vad)
        else:
            turn_detection = TurnDetection()
        transcription: Any = defaults.input_audio_transcription
        if "input_audio_transcription" in session:
            raw_asr = session["input_audio_transcription"]
            if raw_asr is None:
                transcription = None
            elif isinstance(raw_asr, dict):
                # {"model": null} means "on, server's choice of model"
                asr_model = raw_asr.get("model")
                transcription = (
                    asr_model
                    if asr_model is not None
                    else omni_capabilities(model).transcription_model or "gummy-realtime-v1"
                )
            else:
                raise ConfigError("session.input_audio_transcription", raw_asr, "an object or null")
        tools = session.get("tools", [])
        voice = session.get("voice", "")  # absent = the server's default voice
        input_format = session.get("input_audio_format", defaults.input_audio_format)
        output_format = session.get("output_audio_format", defaults.output_audio_format)
        audio = session.get("audio")
        if audio is not None:  # the nested dialect: audio.input/output.format{type, sample_rate}, audio.output.voice
            if not isinstance(audio, dict):
                raise ConfigError("session.audio", audio, "an object")
            audio_in, audio_out = audio.get("input") or {}, audio.get("output") or {}
            if not isinstance(audio_in, dict) or not isinstance(audio_out, dict):
                raise ConfigError("session.audio", audio, "an object with input and output objects")
            input_format = _nested_format("session.audio.input.format", audio_in.get("format"), OMNI_INPUT_RATE,
                                          input_format)
            output_format = _nested_format("session.audio.output.format", audio_out.get("format"), OMNI_OUTPUT_RATE,
                                           output_format)
            voice = audio_out.get("voice", voice)
        config = cls(
            modalities=modalities,
            voice=voice,
            instructions=session.get("instructions", ""),
            input_audio_format=input_format,
            output_audio_format=output_format,
            smooth_output=session.get("smooth_output"),
            turn_detection=turn_detection,
            input_audio_transcription=transcription,
            temperature=session.get("temperature"),
            top_p=session.get("top_p"),
            top_k=_integral(session.get("top_k")),
            max_tokens=_integral(session.get("max_tokens")),
            repetition_penalty=session.get("repetition_penalty"),
            presence_penalty=session.get("presence_penalty"),
            seed=_integral(session.get("seed")),
            tools=tools,
            # the service echoes tool_choice "auto" even without tools: only meaningful with them
            tool_choice=session.get("tool_choice") if tools and isinstance(session.get("tool_choice"), str) else None,
        )
        if config.voice is None:
            config.voice = ""
        if config.instructions is None:
            config.instructions = ""
        config.validate(model)
        return config


def _nested_format(name: str, wire: object, rate: int, default: str) -> str:
    """A nested ``format{type, sample_rate}`` as the flat name we use: only raw PCM at the app's rates."""
    if wire is None:
        return default
    if not isinstance(wire, dict) or wire.get("type", "pcm") != "pcm" or (
        _integral(wire.get("sample_rate", rate)) != rate
    ):
        raise ConfigError(name, wire, f"{{'type': 'pcm', 'sample_rate': {rate}}}")
    return "pcm"


# ---- TTS -----------------------------------------------------------------------------------------

_TTS_MODES: Final = ("server_commit", "commit")


@dataclass(slots=True)
class TtsSessionConfig:
    """The ``session`` of a Qwen-TTS-Realtime ``session.update``. Optional values: None = not sent."""

    voice: str = "Cherry"
    mode: str = "server_commit"
    language_type: str = "Auto"
    response_format: str = "pcm"
    sample_rate: int = 24000
    speech_rate: float | None = None
    volume: int | None = None
    pitch_rate: float | None = None
    bit_rate: int | None = None
    instructions: str | None = None
    optimize_instructions: bool | None = None

    @classmethod
    def for_model(cls, model: str, **overrides: Any) -> TtsSessionConfig:
        values: dict[str, Any] = {"voice": tts_capabilities(model).default_voice}
        values.update(overrides)
        return cls(**values)

    def validate(self, model: str) -> None:
        caps = tts_capabilities(model)
        _check_str("session.voice", self.voice)
        if not self.voice:
            raise ConfigError("session.voice", self.voice, "a voice name (an empty voice is refused)")
        if caps.voices_exhaustive and not caps.takes_voice(self.voice):
            raise ConfigError(
                "session.voice",
                self.voice,
                f"a voice of {model}: " + ", ".join(caps.voices),
                message=f"Voice '{self.voice}' is not supported.",
            )
        if caps.custom_voices_only and self.voice in FLASH_VOICES:
            raise ConfigError(
                "session.voice", self.voice, f"a cloned or designed voice id made for {model} (no system voices)"
            )
        _check_choice("session.mode", self.mode, _TTS_MODES)
        _check_choice("session.language_type", self.language_type, caps.languages or TTS_LANGUAGES)
        _check_choice("session.response_format", self.response_format, caps.formats)
        _check_choice("session.sample_rate", self.sample_rate, caps.sample_rates)
        for name in ("speech_rate", "volume", "pitch_rate"):
            value = getattr(self, name)
            if value is not None and not caps.supports_prosody:
                raise _unsupported(f"session.{name}", value, model)
        if self.speech_rate is not None:
            SPEECH_RATE.check("session.speech_rate", self.speech_rate)
        if self.volume is not None:
            TTS_VOLUME.check("session.volume", self.volume)
        if self.pitch_rate is not None:
            PITCH_RATE.check("session.pitch_rate", self.pitch_rate)
        if self.bit_rate is not None:
            if not caps.supports_bit_rate:
                raise _unsupported("session.bit_rate", self.bit_rate, model)
            if self.response_format != "opus":
                raise ConfigError("session.bit_rate", self.bit_rate, "not set (only with response_format opus)")
            BIT_RATE.check("session.bit_rate", self.bit_rate)
        if self.instructions is not None:
            _check_str("session.instructions", self.instructions)
            if self.instructions and not caps.supports_instructions:
                raise ConfigError(
                    "session.instructions",
                    _preview(self.instructions),
                    f"not set (instructions need an instruct model, not {model})",
                )
            tokens = estimate_tokens(self.instructions)
            if tokens > INSTRUCTIONS_TOKEN_LIMIT:
                raise ConfigError(
                    "session.instructions",
                    f"{_preview(self.instructions)} (~{tokens} tokens)",
                    f"at most {INSTRUCTIONS_TOKEN_LIMIT} tokens",
                )
        if self.optimize_instructions is not None:
            _check_bool("session.optimize_instructions", self.optimize_instructions, optional=True)
            if self.optimize_instructions and not self.instructions:
                raise ConfigError(
                    "session.optimize_instructions", True, "false or unset (it needs non-empty instructions)"
                )
            if self.optimize_instructions and not caps.supports_instructions:
                raise _unsupported("session.optimize_instructions", True, model)

    def to_session(self, model: str) -> dict[str, Any]:
        self.validate(model)
        session: dict[str, Any] = {
            "voice": self.voice,
            "mode": self.mode,
            "language_type": self.language_type,
            "response_format": self.response_format,
            "sample_rate": self.sample_rate,
        }
        for name in (
            "speech_rate",
            "volume",
            "pitch_rate",
            "bit_rate",
            "instructions",
            "optimize_instructions",
        ):
            value = getattr(self, name)
            if value is not None:
                session[name] = value
        return session

    @classmethod
    def from_session(cls, session: object, model: str) -> TtsSessionConfig:
        if not isinstance(session, dict):
            raise ConfigError("session", session, "an object")
        defaults = cls.for_model(model)
        config = cls(
            voice=session.get("voice", defaults.voice),
            mode=session.get("mode", defaults.mode),
            language_type=session.get("language_type", defaults.language_type),
            response_format=session.get("response_format", defaults.response_format),
            sample_rate=_integral(session.get("sample_rate", defaults.sample_rate)),
            speech_rate=session.get("speech_rate"),
            volume=_integral(session.get("volume")),
            pitch_rate=session.get("pitch_rate"),
            bit_rate=_integral(session.get("bit_rate")),
            instructions=session.get("instructions"),
            optimize_instructions=session.get("optimize_instructions"),
        )
        config.validate(model)
        return config


def _preview(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[:limit] + "…"
