"""The model registry: what each realtime model accepts, in one place.

For every model family: its default voice and voice list (and the voices it is documented to refuse),
its transcription model, its audio formats, which optional fields it takes (tools, semantic VAD, idle
timeout, smooth output, sampling), its wire dialect (top-level formats or nested ``audio.*``) and
whether it needs a workspace endpoint. Config building (``config.py``) applies these rules once.

The tables follow the published model and voice lists (protocol reference, section e, and the 2026
cloud addendum). A name we do not know gets a conservative profile (``known=False``: only the common
fields are sent, the saved voice is kept) and the session tells the user its rules are unknown.
Dated model snapshots (``...-realtime-2025-12-01``) resolve to their family by prefix,
except where a snapshot is documented to differ (``qwen3-omni-flash-realtime-2025-09-15`` and
``qwen3-tts-flash-realtime-2025-09-18`` have shorter voice lists).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Final

DEFAULT_OMNI_MODEL: Final = "qwen3-omni-flash-realtime"
DEFAULT_TTS_MODEL: Final = "qwen3-tts-flash-realtime"

ENDPOINTS: Final[dict[str, str]] = {
    "beijing": "wss://dashscope.aliyuncs.com/api-ws/v1/realtime",
    "singapore": "wss://dashscope-intl.aliyuncs.com/api-ws/v1/realtime",
}

#: Omni audio is 16-bit mono PCM: 16 kHz up, 24 kHz down ("pcm24" means 24 kHz, not 24-bit).
OMNI_INPUT_RATE: Final = 16000
OMNI_OUTPUT_RATE: Final = 24000

# 49 system voices of qwen3-omni-flash-realtime(-2025-12-01) and qwen3-tts-flash-realtime(-2025-11-27).
FLASH_VOICES: Final[tuple[str, ...]] = (
    "Cherry", "Serena", "Ethan", "Chelsie", "Momo", "Vivian", "Moon", "Maia", "Kai", "Nofish",
    "Bella", "Jennifer", "Ryan", "Katerina", "Aiden", "Eldric Sage", "Mia", "Mochi", "Bellona",
    "Vincent", "Bunny", "Neil", "Elias", "Arthur", "Nini", "Ebona", "Seren", "Pip", "Stella",
    "Bodega", "Sonrisa", "Alek", "Dolce", "Sohee", "Ono Anna", "Lenn", "Emilien", "Andre",
    "Radio Gol", "Jada", "Dylan", "Li", "Marcus", "Roy", "Peter", "Sunny", "Eric", "Rocky", "Kiki",
)  # fmt: skip

# The 17 voices of the first flash snapshots (qwen3-omni 2025-09-15, qwen3-tts 2025-09-18).
FLASH_VOICES_2025_09: Final[tuple[str, ...]] = (
    "Cherry", "Ethan", "Nofish", "Jennifer", "Ryan", "Katerina", "Elias", "Jada", "Dylan", "Sunny",
    "Li", "Marcus", "Roy", "Peter", "Rocky", "Kiki", "Eric",
)  # fmt: skip

TURBO_VOICES: Final[tuple[str, ...]] = ("Cherry", "Serena", "Ethan", "Chelsie")

# Qwen3.5-Omni: no official list yet; these were confirmed in the field (Cherry was refused). Custom
# (cloned) voice ids are also accepted, so the list is a suggestion, not a limit.
QWEN35_VOICES: Final[tuple[str, ...]] = ("Tina", "Ethan", "Jennifer", "Aiden", "Mione")
# Documented as refused by Qwen3.5-Omni: the legacy voices.
QWEN35_REFUSED_VOICES: Final[tuple[str, ...]] = ("Cherry", "Chelsie", "Serena")

#: Wire dialects of ``session.update``: formats and voice at the top level, or nested under ``audio``.
DIALECT_FLAT: Final = "flat"
DIALECT_NESTED: Final = "nested"

#: Workspace endpoints: ``wss://{workspace}.{host region}.maas.aliyuncs.com/api-ws/v1/realtime``.
WORKSPACE_HOST_REGIONS: Final[dict[str, str]] = {"beijing": "cn-beijing", "singapore": "ap-southeast-1"}

TTS_LANGUAGES: Final[tuple[str, ...]] = (
    "Auto", "Chinese", "English", "German", "Italian", "Portuguese", "Spanish", "Japanese", "Korean",
    "French", "Russian",
)  # fmt: skip

TTS_FORMATS: Final[tuple[str, ...]] = ("pcm", "wav", "mp3", "opus")
TTS_SAMPLE_RATES: Final[tuple[int, ...]] = (8000, 16000, 24000, 48000)


@dataclass(frozen=True, slots=True)
class OmniCapabilities:
    family: str
    known: bool
    voices: tuple[str, ...]
    #: True when ``voices`` is the complete list, so any other name is refused before sending.
    voices_exhaustive: bool
    default_voice: str
    transcription_model: str | None
    supports_smooth_output: bool
    supports_semantic_vad: bool
    supports_idle_timeout: bool
    supports_tools: bool
    #: Turbo ignores temperature/top_p/...; we still let them through.
    honours_sampling: bool
    #: qwen3.5-omni-flash answered ``session.finish`` with "invalid event type" (2026-06).
    supports_session_finish: bool
    #: Output token ceiling when published; None = unknown.
    max_output_tokens: int | None
    #: qwen3.5 silently drops a manual-turn response.create sent before the turn's transcription is done.
    create_waits_for_transcript: bool = False
    #: Voices the model refuses (qwen3.5: documented) or is not known to offer (qwen3.8: the system
    #: voices of the older families), even where ``voices`` is not exhaustive.
    refused_voices: tuple[str, ...] = ()
    #: The formats we send (top-level names; the nested dialect sends them as ``format.type``).
    input_audio_format: str = "pcm16"
    output_audio_format: str = "pcm24"
    #: Every output format the model is documented to take.
    output_formats: tuple[str, ...] = ("pcm24", "pcm16", "pcm")
    #: True when the transcription model is fixed by the service (another name is refused).
    transcription_fixed: bool = False
    dialect: str = DIALECT_FLAT
    #: Only reachable through a workspace endpoint (the legacy hosts do not serve it).
    needs_workspace: bool = False

    def takes_voice(self, voice: str) -> bool:
        """False when ``voice`` is documented as not offered by this model (an empty voice is omitted)."""
        if not voice:
            return True
        if voice in self.refused_voices:
            return False
        return not self.voices_exhaustive or voice in self.voices

    def voice_for(self, voice: str) -> str:
        """``voice`` when the model takes it, else the model's default voice ("" = the server's)."""
        return voice if self.takes_voice(voice) else self.default_voice


@dataclass(frozen=True, slots=True)
class TtsCapabilities:
    family: str
    known: bool
    voices: tuple[str, ...]
    voices_exhaustive: bool
    default_voice: str
    formats: tuple[str, ...]
    sample_rates: tuple[int, ...]
    languages: tuple[str, ...]
    #: speech_rate, volume, pitch_rate
    supports_prosody: bool
    supports_bit_rate: bool
    supports_instructions: bool
    #: vc/vd models speak only cloned or designed voices, never the system voices.
    custom_voices_only: bool = False

    def takes_voice(self, voice: str) -> bool:
        if self.custom_voices_only:
            return bool(voice) and voice not in FLASH_VOICES
        if not voice:
            return False  # an empty voice is refused by the TTS service
        return not self.voices_exhaustive or voice in self.voices

    def voice_for(self, voice: str) -> str:
        """``voice`` when the model takes it, else the model's default voice."""
        return voice if self.takes_voice(voice) or not self.default_voice else self.default_voice


def is_tts_model(name: str) -> bool:
    """Both protocols share one endpoint; the model name decides which one is spoken."""
    return "tts" in name.lower()


_QWEN3_FLASH = OmniCapabilities(
    family="qwen3-omni-flash-realtime",
    known=True,
    voices=FLASH_VOICES,
    voices_exhaustive=True,
    default_voice="Cherry",
    transcription_model="gummy-realtime-v1",
    supports_smooth_output=True,
    supports_semantic_vad=False,
    supports_idle_timeout=False,
    supports_tools=False,
    honours_sampling=True,
    supports_session_finish=True,
    max_output_tokens=16384,
    # The docs name pcm24 (newer pages: pcm); the vendor's SDK sends its legacy label pcm16 by default
    # for this model, which the service takes, so a server of ours must take it too.
    output_formats=("pcm24", "pcm", "pcm16"),
)
_QWEN3_FLASH_2025_09 = replace(_QWEN3_FLASH, voices=FLASH_VOICES_2025_09)
_TURBO = OmniCapabilities(
    family="qwen-omni-turbo-realtime",
    known=True,
    voices=TURBO_VOICES,
    voices_exhaustive=True,
    default_voice="Chelsie",
    transcription_model="gummy-realtime-v1",
    supports_smooth_output=False,
    supports_semantic_vad=False,
    supports_idle_timeout=False,
    supports_tools=False,
    honours_sampling=False,
    supports_session_finish=True,
    max_output_tokens=2048,
    output_audio_format="pcm16",  # the only output format turbo takes
    output_formats=("pcm16",),
)
_QWEN35 = OmniCapabilities(
    family="qwen3.5-omni-realtime",
    known=True,
    voices=QWEN35_VOICES,
    voices_exhaustive=False,
    default_voice="Tina",
    transcription_model="qwen3-asr-flash-realtime",
    supports_smooth_output=False,
    supports_semantic_vad=True,
    supports_idle_timeout=True,
    supports_tools=True,
    honours_sampling=True,
    supports_session_finish=False,
    max_output_tokens=None,
    create_waits_for_transcript=True,
    refused_voices=QWEN35_REFUSED_VOICES,
    input_audio_format="pcm",
    output_audio_format="pcm",
    output_formats=("pcm",),
    transcription_fixed=True,
)
# qwen3.8: voices are not documented (the SDK example uses a CosyVoice-style id, "longanlingxin"), so
# we send no voice unless the user chose one the older families do not name, and the server picks.
# The nested ``audio.*`` dialect is built as the SDK (dashscope 2.0.2, "omni_v38") documents it; NOT
# yet verified against the service (the SDK README says "protocol adapted but not cloud-verified").
_QWEN38 = OmniCapabilities(
    family="qwen3.8-omni-realtime",
    known=True,
    voices=(),
    voices_exhaustive=False,
    default_voice="",
    transcription_model="qwen3-asr-flash-realtime",
    supports_smooth_output=False,
    supports_semantic_vad=True,
    supports_idle_timeout=True,
    supports_tools=False,  # function calling is documented for qwen3.5-omni-plus/flash-realtime only
    honours_sampling=True,
    supports_session_finish=False,
    max_output_tokens=None,
    refused_voices=tuple(dict.fromkeys((*FLASH_VOICES, *TURBO_VOICES))),
    input_audio_format="pcm",
    output_audio_format="pcm",
    output_formats=("pcm",),
    transcription_fixed=True,
    dialect=DIALECT_NESTED,
    needs_workspace=True,
)
# A model we do not know: only the common fields (no smooth output, semantic VAD, idle timeout or
# tools), the legacy formats, the saved voice as it is. The server stays the judge.
_PERMISSIVE_OMNI = OmniCapabilities(
    family="unknown",
    known=False,
    voices=FLASH_VOICES,
    voices_exhaustive=False,
    default_voice="Cherry",
    transcription_model="gummy-realtime-v1",
    supports_smooth_output=False,
    supports_semantic_vad=False,
    supports_idle_timeout=False,
    supports_tools=False,
    honours_sampling=True,
    supports_session_finish=True,
    max_output_tokens=None,
)


def workspace_url(workspace: str, region: str) -> str:
    """The workspace endpoint of ``region`` ("beijing" or "singapore") for ``workspace``."""
    return f"wss://{workspace}.{WORKSPACE_HOST_REGIONS[region]}.maas.aliyuncs.com/api-ws/v1/realtime"


def is_workspace_id(value: str) -> bool:
    """A workspace id is one DNS label: letters, digits and inner hyphens, at most 63 characters."""
    return (
        0 < len(value) <= 63
        and value[0] != "-"
        and value[-1] != "-"
        and all(c.isascii() and (c.isalnum() or c == "-") for c in value)
    )


def unknown_model_note(model: str) -> str:
    return (f"The rules of model {model} are not known to this app: only the common session fields are "
            "sent, and the server decides what it accepts.")


def omni_capabilities(name: str) -> OmniCapabilities:
    model = name.strip().lower()
    if model.startswith("qwen3-omni-flash-realtime-2025-09-15"):
        return _QWEN3_FLASH_2025_09
    if model.startswith("qwen3-omni-flash-realtime"):
        return _QWEN3_FLASH
    if model.startswith("qwen-omni-turbo-realtime"):
        return _TURBO
    if model.startswith("qwen3.5-omni-"):
        return _QWEN35
    if model.startswith("qwen3.8-omni-"):
        return _QWEN38
    return _PERMISSIVE_OMNI


_TTS_FLASH = TtsCapabilities(
    family="qwen3-tts-flash-realtime",
    known=True,
    voices=FLASH_VOICES,
    voices_exhaustive=True,
    default_voice="Cherry",
    formats=TTS_FORMATS,
    sample_rates=TTS_SAMPLE_RATES,
    languages=TTS_LANGUAGES,
    supports_prosody=True,
    supports_bit_rate=True,
    supports_instructions=False,
)
_TTS_FLASH_2025_09 = replace(_TTS_FLASH, voices=FLASH_VOICES_2025_09)
_TTS_INSTRUCT = TtsCapabilities(
    family="qwen3-tts-instruct-flash-realtime",
    known=True,
    voices=FLASH_VOICES,
    voices_exhaustive=False,  # "system voices": the exact list is not published for this family
    default_voice="Cherry",
    formats=TTS_FORMATS,
    sample_rates=TTS_SAMPLE_RATES,
    languages=TTS_LANGUAGES,
    supports_prosody=True,
    supports_bit_rate=True,
    supports_instructions=True,
)
_TTS_CUSTOM_VOICE = TtsCapabilities(
    family="qwen3-tts-vc/vd-realtime",
    known=True,
    voices=(),
    voices_exhaustive=False,
    default_voice="",
    formats=TTS_FORMATS,
    sample_rates=TTS_SAMPLE_RATES,
    languages=TTS_LANGUAGES,
    supports_prosody=True,
    supports_bit_rate=True,
    supports_instructions=False,
    custom_voices_only=True,
)
_TTS_LEGACY = TtsCapabilities(
    family="qwen-tts-realtime",
    known=True,
    voices=TURBO_VOICES,
    voices_exhaustive=False,  # "7 voices"; only four are named in the sources
    default_voice="Cherry",
    formats=("pcm",),
    sample_rates=(24000,),
    languages=TTS_LANGUAGES,
    supports_prosody=False,
    supports_bit_rate=False,
    supports_instructions=False,
)
_PERMISSIVE_TTS = TtsCapabilities(
    family="unknown",
    known=False,
    voices=FLASH_VOICES,
    voices_exhaustive=False,
    default_voice="Cherry",
    formats=TTS_FORMATS,
    sample_rates=TTS_SAMPLE_RATES,
    languages=TTS_LANGUAGES,
    supports_prosody=True,
    supports_bit_rate=True,
    supports_instructions=True,
)


def tts_capabilities(name: str) -> TtsCapabilities:
    model = name.strip().lower()
    if model.startswith("qwen3-tts-flash-realtime-2025-09-18"):
        return _TTS_FLASH_2025_09
    if model.startswith("qwen3-tts-flash-realtime"):
        return _TTS_FLASH
    if model.startswith("qwen3-tts-instruct-flash-realtime"):
        return _TTS_INSTRUCT
    if model.startswith(("qwen3-tts-vc-realtime", "qwen3-tts-vd-realtime")):
        return _TTS_CUSTOM_VOICE
    if model.startswith("qwen-tts-realtime"):
        return _TTS_LEGACY
    return _PERMISSIVE_TTS
