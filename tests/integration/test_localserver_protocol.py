"""The offline server against our own client: the protocol core's state machines over real websockets.

Also the handshake rules (token, model, path), audible TTS controls, several sessions at once, a
client that vanishes mid-response, and ``qwenvoice serve`` as a real child process.
"""

from __future__ import annotations

import asyncio
import io
import os
import re
import signal
import subprocess
import sys
import time
import wave
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soxr
import websockets
from websockets.exceptions import InvalidStatus

from qwenvoice.localserver.omni_response import audio_tokens
from qwenvoice.localserver.server import BackgroundServer, ServeOptions
from qwenvoice.protocol.codec import decode_server_event, encode_event
from qwenvoice.protocol.config import OmniSessionConfig, TtsSessionConfig
from qwenvoice.protocol.events import (
    ConversationItemCreate,
    ErrorEvent,
    Event,
    InputAudioBufferAppend,
    InputAudioBufferClear,
    InputAudioBufferCleared,
    InputAudioBufferCommit,
    InputImageBufferAppend,
    InputTextBufferAppend,
    InputTextBufferCommit,
    ResponseAudioDelta,
    ResponseCancel,
    ResponseCreate,
    ResponseDone,
    ResponseTextDone,
    SessionFinish,
    SessionFinished,
    SessionUpdate,
    SessionUpdated,
)
from qwenvoice.protocol.notifications import (
    AudioChunk,
    ResponseFinished,
    SendEvents,
    TranscriptDelta,
)
from qwenvoice.protocol.omni import OmniConversation
from qwenvoice.protocol.tts import TtsSession

pytestmark = pytest.mark.offline

TOKEN = "own-client-token-456"
OMNI_MODEL = "qwen3-omni-flash-realtime"
TTS_MODEL = "qwen3-tts-flash-realtime"
HEADERS = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module")
def server() -> Iterator[BackgroundServer]:
    with BackgroundServer(ServeOptions(token=TOKEN)) as running:
        running.server.models.wait(120)
        yield running


def espeak_16k(text: str, tmp_dir: Path) -> np.ndarray:
    path = tmp_dir / "say.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-w", str(path), text], check=True, timeout=30)
    with wave.open(str(path)) as w:
        audio = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16)
        rate = w.getframerate()
    return soxr.resample(audio.astype(np.float32), rate, 16000).astype(np.int16)


def connect(server: BackgroundServer, model: str) -> Any:
    return websockets.connect(
        f"{server.url}?model={model}", additional_headers=HEADERS, compression=None, max_size=2**24
    )


async def recv_event(ws: Any, within: float = 60.0) -> Any:
    return decode_server_event(await asyncio.wait_for(ws.recv(), within))


async def recv_until(ws: Any, predicate: Callable[[Any], bool], within: float = 60.0) -> list[Any]:
    seen: list[Any] = []
    deadline = time.monotonic() + within
    while True:
        event = await recv_event(ws, max(0.1, deadline - time.monotonic()))
        seen.append(event)
        if predicate(event):
            return seen


async def send(ws: Any, *events: Event) -> None:
    for event in events:
        await ws.send(encode_event(event))


# ---- handshake -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("suffix", "headers", "status"),
    [
        (f"?model={OMNI_MODEL}", {}, 401),
        (f"?model={OMNI_MODEL}", {"Authorization": "Bearer wrong"}, 401),
        (f"?model={OMNI_MODEL}", {"Authorization": TOKEN}, 401),
        ("", HEADERS, 400),
        ("?model=", HEADERS, 400),
    ],
)
async def test_handshake_refusals(server: BackgroundServer, suffix: str, headers: dict[str, str], status: int) -> None:
    with pytest.raises(InvalidStatus) as refused:
        async with websockets.connect(server.url + suffix, additional_headers=headers):
            pass
    assert refused.value.response.status_code == status


async def test_unknown_path_is_404(server: BackgroundServer) -> None:
    url = server.url.replace("/api-ws/v1/realtime", "/elsewhere") + f"?model={OMNI_MODEL}"
    with pytest.raises(InvalidStatus) as refused:
        async with websockets.connect(url, additional_headers=HEADERS):
            pass
    assert refused.value.response.status_code == 404


async def test_model_name_selects_the_protocol(server: BackgroundServer) -> None:
    async with connect(server, "my-tts-model") as ws:
        created = await recv_event(ws)
        assert "mode" in created.session and "response_format" in created.session
    async with connect(server, "any-other-model") as ws:
        created = await recv_event(ws)
        assert "modalities" in created.session and "turn_detection" in created.session


# ---- Omni with the app's state machine -----------------------------------------------------------


class OmniDriver:
    """Runs ``OmniConversation`` over a socket, sending what it asks to send, collecting notifications."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.conv = OmniConversation(OMNI_MODEL)
        self.notes: list[Any] = []

    async def do(self, events: list[Any]) -> None:
        await send(self.ws, *events)

    async def pump(self, until: Callable[[Any], bool], within: float = 60.0) -> None:
        deadline = time.monotonic() + within
        while True:
            event = await recv_event(self.ws, max(0.1, deadline - time.monotonic()))
            for note in self.conv.receive(event):
                self.notes.append(note)
                if isinstance(note, SendEvents):
                    await self.do(note.events)
                if until(note):
                    return

    def audio(self) -> bytes:
        return b"".join(n.pcm for n in self.notes if isinstance(n, AudioChunk))

    def text(self, role: str) -> str:
        finals = [n.text for n in self.notes if isinstance(n, TranscriptDelta) and n.role == role and n.final]
        return finals[-1] if finals else ""


async def test_push_to_talk_turn_with_our_state_machine(server: BackgroundServer, tmp_path: Path) -> None:
    async with connect(server, OMNI_MODEL) as ws:
        driver = OmniDriver(ws)
        await driver.pump(lambda n: driver.conv.session_phase.name == "CREATED")
        await driver.do(driver.conv.configure(OmniSessionConfig(turn_detection=None, voice="Ethan")))
        await driver.pump(lambda _n: driver.conv.ready)
        speech = espeak_16k("What time is it?", tmp_path)
        for start in range(0, speech.size, 1600):
            await driver.do(driver.conv.append_audio(speech[start : start + 1600].tobytes()))
        await driver.do(driver.conv.commit_turn())
        await driver.pump(lambda n: isinstance(n, ResponseFinished))
        finished = [n for n in driver.notes if isinstance(n, ResponseFinished)][0]
        assert finished.status == "completed" and not finished.interrupted
        assert finished.usage is not None and finished.usage.total_tokens > 0
        # Audio tokens at the imitated model's rate, for the audio sent and the audio received.
        assert abs(finished.usage.input_audio_tokens - audio_tokens(OMNI_MODEL, speech.size / 16000)) <= 1
        assert abs(finished.usage.output_audio_tokens - audio_tokens(OMNI_MODEL, len(driver.audio()) / 48000)) <= 1
        assert "time" in driver.text("user").lower()
        assert re.search(r"\d{1,2}:\d{2}", driver.text("assistant"))
        assert len(driver.audio()) > 24000 * 2  # over half a second of 24 kHz pcm16


async def test_typed_turn_and_voice_cannot_change_after_audio(server: BackgroundServer) -> None:
    async with connect(server, OMNI_MODEL) as ws:
        driver = OmniDriver(ws)
        await driver.do(
            driver.conv.configure(OmniSessionConfig(turn_detection=None, instructions="Your name is Juno."))
        )
        await driver.pump(lambda _n: driver.conv.ready)
        await driver.do(driver.conv.send_text("Who are you?"))
        await driver.pump(lambda n: isinstance(n, ResponseFinished))
        assert "Juno" in driver.text("assistant")
        await send(ws, SessionUpdate({"voice": "Ethan"}))
        error = (await recv_until(ws, lambda e: isinstance(e, ErrorEvent | SessionUpdated)))[-1]
        assert isinstance(error, ErrorEvent) and error.error.code == "cannot_update_voice"


async def test_clear_then_commit_is_an_empty_buffer_error(server: BackgroundServer) -> None:
    async with connect(server, OMNI_MODEL) as ws:
        await recv_event(ws)
        await send(ws, SessionUpdate({"turn_detection": None}))
        await recv_until(ws, lambda e: isinstance(e, SessionUpdated))
        await send(ws, InputAudioBufferAppend(np.ones(3200, np.int16).tobytes()), InputAudioBufferClear())
        await recv_until(ws, lambda e: isinstance(e, InputAudioBufferCleared))
        await send(ws, InputAudioBufferCommit(), ResponseCancel())
        first = await recv_event(ws)
        second = await recv_event(ws)
        assert isinstance(first, ErrorEvent) and "empty" in first.error.message
        assert isinstance(second, ErrorEvent) and "no active response" in second.error.message


async def test_image_is_accepted_and_the_reply_says_it_cannot_see(server: BackgroundServer, tmp_path: Path) -> None:
    async with connect(server, OMNI_MODEL) as ws:
        await recv_event(ws)
        await send(ws, SessionUpdate({"turn_detection": None, "modalities": ["text"]}))
        await recv_until(ws, lambda e: isinstance(e, SessionUpdated))
        speech = espeak_16k("What is in this picture?", tmp_path)
        await send(
            ws,
            InputAudioBufferAppend(speech.tobytes()),
            InputImageBufferAppend(b"\xff\xd8\xff\xe0" + bytes(64)),
            InputAudioBufferCommit(),
            ResponseCreate(),
        )
        events = await recv_until(ws, lambda e: isinstance(e, ResponseDone))
        assert not any(isinstance(e, ErrorEvent) for e in events)
        text = next(e for e in events if isinstance(e, ResponseTextDone)).text
        assert "can't see images" in text and "API key" in text


# ---- TTS -----------------------------------------------------------------------------------------


async def synthesize(server: BackgroundServer, text: str, **session: Any) -> tuple[bytes, list[Any]]:
    async with connect(server, TTS_MODEL) as ws:
        await recv_event(ws)
        await send(ws, SessionUpdate({"mode": "commit", **session}))
        updated = (await recv_until(ws, lambda e: isinstance(e, SessionUpdated | ErrorEvent)))[-1]
        assert isinstance(updated, SessionUpdated), updated
        await send(ws, InputTextBufferAppend(text), InputTextBufferCommit(), SessionFinish())
        events = await recv_until(ws, lambda e: isinstance(e, SessionFinished))
    audio = b"".join(e.audio for e in events if isinstance(e, ResponseAudioDelta))
    return audio, events


def pcm(data: bytes) -> np.ndarray:
    return np.frombuffer(data, dtype=np.int16).astype(np.float64)


def rms(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(samples**2)))


def median_f0(samples: np.ndarray, rate: int) -> float:
    """Median autocorrelation pitch of the voiced 40 ms frames."""
    frame = int(rate * 0.04)
    floor = rms(samples) * 0.5
    pitches = []
    for start in range(0, samples.size - frame, frame):
        x = samples[start : start + frame]
        if rms(x) < floor:
            continue
        x = x - x.mean()
        corr = np.correlate(x, x, mode="full")[frame - 1 :]
        low, high = int(rate / 500), int(rate / 60)
        lag = low + int(np.argmax(corr[low:high]))
        pitches.append(rate / lag)
    return float(np.median(pitches))


SENTENCE = "The quick brown fox jumps over the lazy dog."


async def test_tts_controls_are_audible(server: BackgroundServer) -> None:
    base, events = await synthesize(server, SENTENCE, voice="Ethan")
    fast, _ = await synthesize(server, SENTENCE, voice="Ethan", speech_rate=2.0)
    quiet, _ = await synthesize(server, SENTENCE, voice="Ethan", volume=10)
    high, _ = await synthesize(server, SENTENCE, voice="Ethan", pitch_rate=1.8)
    cherry, _ = await synthesize(server, SENTENCE, voice="Cherry")
    done = [e for e in events if isinstance(e, ResponseDone)]
    assert len(done) == 1 and done[0].usage is not None and done[0].usage.characters == len(SENTENCE)
    b = pcm(base)
    assert len(fast) < len(base) * 0.75
    assert rms(pcm(quiet)) < rms(b) * 0.35
    base_f0 = median_f0(b, 24000)
    assert median_f0(pcm(high), 24000) > base_f0 * 1.4
    assert median_f0(pcm(cherry), 24000) > base_f0 * 1.1


@pytest.mark.parametrize("rate", [8000, 16000, 48000])
async def test_tts_sample_rates(server: BackgroundServer, rate: int) -> None:
    reference, _ = await synthesize(server, SENTENCE, voice="Ethan")
    audio, _ = await synthesize(server, SENTENCE, voice="Ethan", sample_rate=rate)
    seconds, reference_seconds = len(audio) / 2 / rate, len(reference) / 2 / 24000
    # piper's duration varies a little from run to run; a wrong rate would be off by a factor
    assert abs(seconds - reference_seconds) < 0.12 * reference_seconds


async def test_tts_wav_format_is_a_readable_wav(server: BackgroundServer) -> None:
    audio, _ = await synthesize(server, SENTENCE, voice="Ethan", response_format="wav", sample_rate=16000)
    with wave.open(io.BytesIO(audio)) as w:
        assert w.getframerate() == 16000 and w.getnchannels() == 1 and w.getsampwidth() == 2
        frames = w.readframes(10**7)
    assert len(frames) > 16000 * 2  # over a second of speech


@pytest.mark.parametrize(("language", "text"), [("Chinese", "你好，现在几点了？"), ("German", "Guten Tag!")])
async def test_tts_other_languages_use_espeak(server: BackgroundServer, language: str, text: str) -> None:
    audio, _ = await synthesize(server, text, voice="Cherry", language_type=language)
    assert len(audio) > 24000  # half a second or more


async def test_tts_with_the_state_machine_in_server_commit(server: BackgroundServer) -> None:
    async with connect(server, TTS_MODEL) as ws:
        session = TtsSession(TTS_MODEL)
        session.receive(await recv_event(ws))
        await send(ws, *session.configure(TtsSessionConfig(voice="Cherry", mode="server_commit")))
        for piece in ("One sentence. ", "Another sentence. ", "And the end"):
            await send(ws, *session.append_text(piece))
        await send(ws, *session.finish())
        events = await recv_until(ws, lambda e: isinstance(e, SessionFinished))
        for event in events:
            session.receive(event)
        assert session.finished
        assert sum(isinstance(e, ResponseDone) for e in events) == 3


async def test_several_sessions_at_once(server: BackgroundServer) -> None:
    results = await asyncio.gather(*(synthesize(server, f"Session number {n} speaks.") for n in range(3)))
    assert all(len(audio) > 24000 for audio, _ in results)


async def test_client_vanishing_mid_response_frees_the_session(server: BackgroundServer) -> None:
    before = server.session_count()
    ws = await connect(server, TTS_MODEL)
    await recv_event(ws)
    await send(ws, SessionUpdate({"mode": "commit"}), InputTextBufferAppend(SENTENCE * 6), InputTextBufferCommit())
    await recv_until(ws, lambda e: isinstance(e, ResponseAudioDelta))
    ws.transport.abort()  # no close handshake: the peer is simply gone
    for _ in range(100):
        if server.session_count() <= before:
            break
        await asyncio.sleep(0.1)
    assert server.session_count() == before
    audio, _ = await synthesize(server, "Still here.")
    assert len(audio) > 0


async def test_omni_client_vanishing_mid_reply_frees_the_session(server: BackgroundServer) -> None:
    before = server.session_count()
    ws = await connect(server, OMNI_MODEL)
    await recv_event(ws)
    item = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hello"}]}
    await send(ws, SessionUpdate({"turn_detection": None}), ConversationItemCreate(item), ResponseCreate())
    await recv_until(ws, lambda e: isinstance(e, ResponseAudioDelta))
    ws.transport.abort()
    for _ in range(100):
        if server.session_count() <= before:
            break
        await asyncio.sleep(0.1)
    assert server.session_count() == before
    async with connect(server, OMNI_MODEL) as again:
        assert (await recv_event(again)).TYPE == "session.created"


# ---- the CLI -------------------------------------------------------------------------------------


def test_serve_command_prints_the_ready_line_and_stops_on_sigterm() -> None:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-m", "qwenvoice", "serve", "--port", "0", "--token", "cli-token"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        ready_after = time.monotonic() - started
        match = re.fullmatch(r"qwenvoice offline server ready at (ws://127\.0\.0\.1:\d+/api-ws/v1/realtime)\n", line)
        assert match, line
        assert ready_after < 10  # the models load in the background, not before listening

        async def probe() -> tuple[int, str]:
            with pytest.raises(InvalidStatus) as refused:
                async with websockets.connect(f"{match.group(1)}?model={OMNI_MODEL}"):
                    pass
            async with websockets.connect(
                f"{match.group(1)}?model={OMNI_MODEL}", additional_headers={"Authorization": "Bearer cli-token"}
            ) as ws:
                created = decode_server_event(await ws.recv())
            return refused.value.response.status_code, created.TYPE

        assert asyncio.run(probe()) == (401, "session.created")
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0
        _out, err = process.communicate(timeout=5)
        assert "cli-token" not in err
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


async def test_idle_timeout_speaks_once_after_the_user_stays_silent(server: BackgroundServer) -> None:
    """turn_detection.idle_timeout_ms (qwen3.5-omni): the model speaks on its own once the user has been
    silent that long after the reply finished playing; a new turn restarts the wait, and it nudges once."""
    idle_s = 5.0
    async with connect(server, "qwen3.5-omni-flash-realtime") as ws:
        await recv_event(ws)
        await send(ws, SessionUpdate({"turn_detection": {"type": "server_vad", "idle_timeout_ms": int(idle_s * 1000)}}))
        updated = (await recv_until(ws, lambda e: isinstance(e, SessionUpdated | ErrorEvent)))[-1]
        assert isinstance(updated, SessionUpdated), updated
        assert updated.session["turn_detection"]["idle_timeout_ms"] == 5000

        async def typed_turn(text: str) -> float:
            """Sends a typed turn; returns when its reply will have finished playing (client clock)."""
            item = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}
            await send(ws, ConversationItemCreate(item), ResponseCreate())
            first_audio: float | None = None
            audio_s = 0.0
            while not isinstance(event := await recv_event(ws), ResponseDone):
                if isinstance(event, ResponseAudioDelta):
                    first_audio = first_audio or time.monotonic()
                    audio_s += len(event.audio) / 2 / 24000
            assert first_audio is not None
            return first_audio + audio_s

        await typed_turn("What time is it?")
        await asyncio.sleep(2.0)  # silent, but less than the timeout: the next turn restarts the wait
        played_until = await typed_turn("Hello")
        first = await recv_event(ws, within=idle_s + 20)
        waited = time.monotonic() - played_until
        nudge = [first, *await recv_until(ws, lambda e: isinstance(e, ResponseDone))]
        transcript = " ".join(e.delta for e in nudge if hasattr(e, "delta") and isinstance(e.delta, str))
        assert "still there" in transcript.lower(), [type(e).__name__ for e in nudge]
        assert type(first).__name__ == "ResponseCreated", [type(e).__name__ for e in nudge]
        # idle_s after playback ended, not after the first turn (a loaded machine may add a little)
        assert idle_s - 0.5 <= waited <= idle_s + 3, waited
        with pytest.raises(TimeoutError):  # one nudge per silence: nothing more comes
            await recv_event(ws, within=idle_s + 3)
