"""The offline server driven by the official DashScope Python SDK (dashscope 2.0.2) as the client.

Real server on 127.0.0.1, real speech stack, real SDK classes: the user's speech is espeak-ng audio
streamed in 100 ms appends, and replies are checked by what they say (transcribed back with whisper).
"""

from __future__ import annotations

import base64
import subprocess
import threading
import time
import wave
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soxr

pytest.importorskip("dashscope")
import dashscope  # noqa: E402
from dashscope.audio.qwen_omni import MultiModality, OmniRealtimeCallback, OmniRealtimeConversation  # noqa: E402
from dashscope.audio.qwen_tts_realtime import QwenTtsRealtime, QwenTtsRealtimeCallback  # noqa: E402

from qwenvoice.localserver.server import BackgroundServer, ServeOptions  # noqa: E402

pytestmark = pytest.mark.offline

TOKEN = "local-test-token-123"
OMNI_MODEL = "qwen3-omni-flash-realtime"
TTS_MODEL = "qwen3-tts-flash-realtime"


# ---- helpers -------------------------------------------------------------------------------------


def espeak_16k(text: str, tmp_dir: Path, voice: str = "en-us") -> np.ndarray:
    path = tmp_dir / f"say_{abs(hash((text, voice)))}.wav"
    subprocess.run(["espeak-ng", "-v", voice, "-w", str(path), text], check=True, timeout=30)
    with wave.open(str(path)) as w:
        audio = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16)
        rate = w.getframerate()
    return soxr.resample(audio.astype(np.float32), rate, 16000).astype(np.int16)


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(16000 * seconds), dtype=np.int16)


class Recorder:
    """Collects every event the SDK hands to its callback (on the SDK's websocket thread)."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.closed: tuple[Any, Any] | None = None
        self._cond = threading.Condition()
        self.on_event_hook: Callable[[dict[str, Any]], None] | None = None

    def add(self, event: dict[str, Any]) -> None:
        with self._cond:
            self.events.append(event)
            self._cond.notify_all()
        if self.on_event_hook is not None:
            self.on_event_hook(event)

    def close(self, code: Any, msg: Any) -> None:
        with self._cond:
            self.closed = (code, msg)
            self._cond.notify_all()

    def wait_for(self, predicate: Callable[[list[dict[str, Any]]], bool], timeout: float = 30.0) -> None:
        with self._cond:
            if not self._cond.wait_for(lambda: predicate(self.events), timeout):
                types = [e.get("type") for e in self.events]
                raise AssertionError(f"timed out; events so far: {types}")

    def wait_type(self, event_type: str, count: int = 1, timeout: float = 30.0) -> dict[str, Any]:
        self.wait_for(lambda evs: sum(e.get("type") == event_type for e in evs) >= count, timeout)
        return [e for e in self.events if e.get("type") == event_type][count - 1]

    def types(self) -> list[str]:
        with self._cond:
            return [e.get("type", "") for e in self.events]

    def of_type(self, event_type: str) -> list[dict[str, Any]]:
        with self._cond:
            return [e for e in self.events if e.get("type") == event_type]

    def clear(self) -> None:
        with self._cond:
            self.events.clear()


class OmniRecorder(OmniRealtimeCallback):
    def __init__(self, rec: Recorder) -> None:
        self.rec = rec

    def on_event(self, message: Any) -> None:
        self.rec.add(message)

    def on_close(self, close_status_code: Any, close_msg: Any) -> None:
        self.rec.close(close_status_code, close_msg)


class TtsRecorder(QwenTtsRealtimeCallback):
    def __init__(self, rec: Recorder) -> None:
        self.rec = rec

    def on_event(self, message: Any) -> None:
        self.rec.add(message)

    def on_close(self, close_status_code: Any, close_msg: Any) -> None:
        self.rec.close(close_status_code, close_msg)


def stream(conv: OmniRealtimeConversation, audio: np.ndarray, pace: float = 1.0) -> None:
    """100 ms appends, at ``pace`` times real time."""
    step = 1600
    for start in range(0, audio.size, step):
        conv.append_audio(base64.b64encode(audio[start : start + step].tobytes()).decode())
        time.sleep(0.1 / pace)


def reply_audio(rec: Recorder, response_id: str | None = None) -> np.ndarray:
    chunks = [
        base64.b64decode(e["delta"])
        for e in rec.of_type("response.audio.delta")
        if response_id is None or e["response_id"] == response_id
    ]
    return np.frombuffer(b"".join(chunks), dtype=np.int16)


def response_events(types: list[str]) -> list[str]:
    wanted = {
        "response.created",
        "response.output_item.added",
        "response.content_part.added",
        "response.audio_transcript.done",
        "response.audio.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.done",
    }
    collapsed: list[str] = []
    for t in types:
        if t in wanted and (not collapsed or collapsed[-1] != t):
            collapsed.append(t)
    return collapsed


FULL_RESPONSE_ORDER = [
    "response.created",
    "response.output_item.added",
    "response.content_part.added",
    "response.audio_transcript.done",
    "response.audio.done",
    "response.content_part.done",
    "response.output_item.done",
    "response.done",
]


# ---- fixtures ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server() -> Iterator[BackgroundServer]:
    with BackgroundServer(ServeOptions(token=TOKEN)) as running:
        running.server.models.wait(120)
        yield running


@pytest.fixture(scope="module")
def base_url(server: BackgroundServer) -> str:
    return server.url


@pytest.fixture(scope="module")
def whisper() -> Any:
    from qwenvoice.localserver.speech import Transcriber

    return Transcriber(cpu_threads=1)


@pytest.fixture
def omni(base_url: str) -> Iterator[tuple[OmniRealtimeConversation, Recorder]]:
    rec = Recorder()
    conv = OmniRealtimeConversation(model=OMNI_MODEL, callback=OmniRecorder(rec), url=base_url, api_key=TOKEN)
    conv.connect()
    rec.wait_type("session.created", timeout=10)
    yield conv, rec
    try:
        conv.close()
    except Exception:
        pass


@pytest.fixture
def tts(base_url: str) -> Iterator[tuple[QwenTtsRealtime, Recorder]]:
    dashscope.api_key = TOKEN
    rec = Recorder()
    client = QwenTtsRealtime(model=TTS_MODEL, callback=TtsRecorder(rec), url=base_url)
    client.connect()
    rec.wait_type("session.created", timeout=10)
    yield client, rec
    try:
        client.close()
    except Exception:
        pass


def _configure(
    conv: OmniRealtimeConversation, rec: Recorder, *, vad: bool, silence_ms: int = 500, **extra: Any
) -> dict[str, Any]:
    conv.update_session(
        output_modalities=[MultiModality.AUDIO, MultiModality.TEXT],
        voice="Cherry",
        enable_turn_detection=vad,
        turn_detection_silence_duration_ms=silence_ms,
        **extra,
    )
    return rec.wait_type("session.updated")


def _clock_strings(moment: datetime) -> set[str]:
    hour = moment.hour % 12 or 12
    return {f"{hour}:{moment.minute:02d}", f"{hour}.{moment.minute:02d}"}


# ---- Omni ----------------------------------------------------------------------------------------


def test_vad_turn_what_time_is_it(omni: Any, whisper: Any, tmp_path: Path) -> None:
    conv, rec = omni
    updated = _configure(conv, rec, vad=True, silence_ms=500)
    assert updated["session"]["turn_detection"]["silence_duration_ms"] == 500
    assert updated["session"]["turn_detection"]["threshold"] == pytest.approx(0.2)  # the SDK's default
    before = datetime.now()
    stream(conv, np.concatenate([silence(0.5), espeak_16k("What time is it?", tmp_path), silence(1.5)]))
    done = rec.wait_type("response.done", timeout=60)
    after = datetime.now()

    types = rec.types()
    turn = [
        t
        for t in types
        if t
        in (
            "input_audio_buffer.speech_started",
            "input_audio_buffer.speech_stopped",
            "input_audio_buffer.committed",
            "conversation.item.input_audio_transcription.completed",
            "response.created",
        )
    ]
    assert turn == [
        "input_audio_buffer.speech_started",
        "input_audio_buffer.speech_stopped",
        "input_audio_buffer.committed",
        "conversation.item.input_audio_transcription.completed",
        "response.created",
    ]
    started = rec.of_type("input_audio_buffer.speech_started")[0]
    assert 400 <= started["audio_start_ms"] <= 700
    assert started["item_id"] == rec.of_type("input_audio_buffer.committed")[0]["item_id"]
    user_item = rec.of_type("conversation.item.created")[0]["item"]
    assert user_item["role"] == "user" and user_item["id"] == started["item_id"]

    heard = rec.of_type("conversation.item.input_audio_transcription.completed")[0]["transcript"]
    assert "time" in heard.lower()
    assert response_events(types) == FULL_RESPONSE_ORDER
    assert types.index("response.audio_transcript.delta") < types.index("response.audio_transcript.done")

    said = rec.of_type("response.audio_transcript.done")[0]["transcript"]
    assert any(c in said for c in _clock_strings(before) | _clock_strings(after)), said
    assert done["response"]["status"] == "completed"
    usage = done["response"]["usage"]
    assert usage["input_tokens_details"]["audio_tokens"] > 0 and usage["output_tokens_details"]["audio_tokens"] > 0
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]

    audio = reply_audio(rec)
    assert audio.size > 24000 * 0.8  # 24 kHz pcm16: "It's 3:07 PM." lasts over a second
    spoken = whisper.transcribe(soxr.resample(audio.astype(np.float32), 24000, 16000).astype(np.int16))
    hours = {str(m.hour % 12 or 12) for m in (before, after)}
    assert any(h in spoken for h in hours), spoken


def test_manual_turn(omni: Any, tmp_path: Path) -> None:
    conv, rec = omni
    updated = _configure(conv, rec, vad=False)
    assert updated["session"]["turn_detection"] is None
    stream(conv, espeak_16k("Hello, how are you doing today?", tmp_path), pace=5)
    time.sleep(0.5)
    assert "input_audio_buffer.speech_started" not in rec.types()
    assert "response.created" not in rec.types()
    conv.commit()
    committed = rec.wait_type("input_audio_buffer.committed")
    heard = rec.wait_type("conversation.item.input_audio_transcription.completed")
    assert heard["item_id"] == committed["item_id"]
    assert "hello" in heard["transcript"].lower()
    assert "response.created" not in rec.types()  # manual mode: nothing until response.create
    conv.create_response()
    done = rec.wait_type("response.done", timeout=60)
    assert done["response"]["status"] == "completed"
    said = rec.of_type("response.audio_transcript.done")[0]["transcript"]
    assert "offline" in said.lower() and "API key" in said
    assert response_events(rec.types()) == FULL_RESPONSE_ORDER


def test_cancel_during_reply_then_session_still_works(omni: Any, tmp_path: Path) -> None:
    conv, rec = omni
    _configure(conv, rec, vad=False)
    first_audio = threading.Event()
    rec.on_event_hook = lambda e: first_audio.set() if e.get("type") == "response.audio.delta" else None
    stream(conv, espeak_16k("Tell me a long story about the sea.", tmp_path), pace=5)
    conv.commit()
    rec.wait_type("conversation.item.input_audio_transcription.completed")
    conv.create_response()
    assert first_audio.wait(30)
    conv.cancel_response()
    done = rec.wait_type("response.done", timeout=30)
    assert done["response"]["status"] == "cancelled"
    types = rec.types()
    assert types.index("response.audio.done") < types.index("response.done")
    # No audio after the cancelled response ended.
    assert "response.audio.delta" not in types[types.index("response.audio.done") :]
    full_reply = len(rec.of_type("response.audio_transcript.delta"))
    assert full_reply >= 1

    # The session is still usable: another turn gets a complete answer.
    rec.on_event_hook = None
    rec.clear()
    stream(conv, espeak_16k("What time is it?", tmp_path), pace=5)
    conv.commit()
    rec.wait_type("conversation.item.input_audio_transcription.completed")
    conv.create_response()
    assert rec.wait_type("response.done", timeout=60)["response"]["status"] == "completed"


def test_speaking_during_a_reply_interrupts_it(omni: Any, tmp_path: Path) -> None:
    conv, rec = omni
    _configure(conv, rec, vad=True, silence_ms=500)
    stream(conv, np.concatenate([silence(0.3), espeak_16k("Hello there.", tmp_path), silence(0.8)]), pace=2)
    rec.wait_type("response.audio.delta", timeout=60)
    stream(conv, np.concatenate([espeak_16k("Stop. What time is it?", tmp_path), silence(1.2)]), pace=1)
    first_done = rec.wait_type("response.done", timeout=60)
    assert first_done["response"]["status"] == "cancelled"
    assert rec.types().count("input_audio_buffer.speech_started") >= 2
    second = rec.wait_type("response.done", count=2, timeout=60)
    assert second["response"]["status"] == "completed"


def test_text_only_modality(omni: Any, tmp_path: Path) -> None:
    conv, rec = omni
    conv.update_session(output_modalities=[MultiModality.TEXT], enable_turn_detection=False)
    assert rec.wait_type("session.updated")["session"]["modalities"] == ["text"]
    stream(conv, espeak_16k("Tell me the date.", tmp_path), pace=5)
    conv.commit()
    rec.wait_type("conversation.item.input_audio_transcription.completed")
    conv.create_response()
    rec.wait_type("response.done", timeout=60)
    types = rec.types()
    assert "response.text.delta" in types and "response.text.done" in types
    assert "response.audio.delta" not in types
    text = rec.of_type("response.text.done")[0]["text"]
    assert str(datetime.now().year) in text


def test_bad_input_answers_errors_and_the_session_stays_usable(omni: Any, tmp_path: Path) -> None:
    conv, rec = omni
    conv.send_raw("{this is not json")
    conv.send_raw('{"type": "no.such.event", "event_id": "event_x1"}')
    conv.update_session(output_modalities=[MultiModality.AUDIO], enable_turn_detection=False)
    conv.update_session(
        output_modalities=[MultiModality.AUDIO, MultiModality.TEXT],
        enable_turn_detection=True,
        turn_detection_threshold=3.0,
    )
    conv.send_raw('{"type": "input_audio_buffer.append", "audio": "%%%not base64%%%"}')
    rec.wait_type("error", count=5)
    errors = [e["error"] for e in rec.of_type("error")]
    assert all(e["type"] == "invalid_request_error" and e["message"] for e in errors)
    params = [e.get("param") for e in errors]
    assert "session.modalities" in params
    assert "session.turn_detection.threshold" in params
    assert any(e.get("event_id") == "event_x1" for e in errors)
    modalities_error = next(e for e in errors if e.get("param") == "session.modalities")
    assert modalities_error["code"] == "invalid_value"
    assert "Supported combinations" in modalities_error["message"]

    # Nothing was applied, and a proper turn still works.
    _configure(conv, rec, vad=False)
    stream(conv, espeak_16k("What time is it?", tmp_path), pace=5)
    conv.commit()
    rec.wait_type("conversation.item.input_audio_transcription.completed")
    conv.create_response()
    assert rec.wait_type("response.done", timeout=60)["response"]["status"] == "completed"


def test_image_before_audio_is_refused_like_the_cloud(omni: Any) -> None:
    conv, rec = omni
    _configure(conv, rec, vad=False)
    jpeg = base64.b64encode(b"\xff\xd8\xff\xe0" + b"\0" * 64).decode()
    conv.append_video(jpeg)
    error = rec.wait_type("error")["error"]
    assert error["message"] == "Error append image before append audio."
    rec.clear()
    conv.append_audio(base64.b64encode(silence(0.2).tobytes()).decode())
    conv.append_video(jpeg)
    time.sleep(0.3)
    assert "error" not in rec.types()


def test_end_session_finishes_cleanly(omni: Any) -> None:
    conv, rec = omni
    _configure(conv, rec, vad=False)
    conv.end_session(timeout=10)  # raises on an error or a timeout
    assert "session.finished" in rec.types()
    rec.wait_for(lambda _evs: rec.closed is not None, timeout=10)


# ---- TTS -----------------------------------------------------------------------------------------


def test_tts_server_commit_streams_sentences_as_text_arrives(tts: Any) -> None:
    client, rec = tts
    client.update_session(voice="Cherry", mode="server_commit")
    rec.wait_type("session.updated")
    client.append_text("Good morning. This is the offline ")
    rec.wait_type("response.audio.delta", timeout=30)  # the first sentence is spoken before the rest arrives
    client.append_text("speech server, reading text as it streams in. ")
    client.append_text("The last sentence has no full stop")
    client.finish()
    rec.wait_type("session.finished", timeout=60)
    rec.wait_for(lambda _evs: rec.closed is not None, timeout=10)
    dones = rec.of_type("response.done")
    assert len(dones) == 3
    assert all(d["response"]["status"] == "completed" for d in dones)
    characters = sum(d["response"]["usage"]["characters"] for d in dones)
    assert characters == len(
        "Good morning. This is the offline speech server, reading text as it streams in."
    ) - 1 + len("The last sentence has no full stop")
    types = rec.types()
    assert types[-1] == "session.finished"
    assert response_events(types)[:3] == [
        "response.created",
        "response.output_item.added",
        "response.content_part.added",
    ]
    assert reply_audio(rec).size > 24000 * 3


def test_tts_commit_mode(tts: Any) -> None:
    client, rec = tts
    client.update_session(voice="Ethan", mode="commit", sample_rate=16000)
    assert rec.wait_type("session.updated")["session"]["sample_rate"] == 16000
    client.append_text("Nothing is spoken before the commit. ")
    client.append_text("Then all of it is one response.")
    time.sleep(1.0)
    assert "response.created" not in rec.types()
    client.commit()
    rec.wait_type("input_text_buffer.committed")
    done = rec.wait_type("response.done", timeout=60)
    assert done["response"]["usage"]["characters"] == len(
        "Nothing is spoken before the commit. Then all of it is one response."
    )
    audio = reply_audio(rec)
    assert 16000 * 2.5 < audio.size < 16000 * 8  # about four seconds at 16 kHz
    client.commit()  # an empty buffer
    error = rec.wait_type("error")["error"]
    assert "empty" in error["message"]
    client.append_text("And a second commit.")
    client.commit()
    rec.wait_type("response.done", count=2, timeout=60)
    client.finish()
    rec.wait_type("session.finished", timeout=30)
    assert len(rec.of_type("response.created")) == 2


def test_tts_clear_and_unsupported_format(tts: Any) -> None:
    client, rec = tts
    client.update_session(voice="Cherry", mode="commit", audio_format="mp3")
    error = rec.wait_type("error")["error"]
    assert error["param"] == "session.response_format" and "mp3" in error["message"]
    client.update_session(voice="Cherry", mode="commit")
    rec.wait_type("session.updated")
    client.append_text("This text is thrown away.")
    client.clear_appended_text()
    rec.wait_type("input_text_buffer.cleared")
    client.commit()
    assert "empty" in rec.wait_type("error", count=2)["error"]["message"]
    assert "response.created" not in rec.types()
