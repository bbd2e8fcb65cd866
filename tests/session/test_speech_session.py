"""One TTS job (SpeechSession) without Qt against the scripted realtime server on 127.0.0.1: what counts
as a failure, and each response_format played and kept."""

from __future__ import annotations

import numpy as np
import pytest

from qwenvoice.audio.wav import read_wav
from qwenvoice.protocol.config import TtsSessionConfig
from qwenvoice.session.reports import QuietSpeechListener
from qwenvoice.session.speech import SpeechSession
from tests.reliability.helpers import TOKEN
from tests.support.scripted_server import Script, ScriptedServer, sine_pcm

MODEL = "qwen3-tts-flash-realtime"


async def _job(script: Script, config: TtsSessionConfig, segments: list[str]) -> tuple[SpeechSession, list[bytes]]:
    heard: list[bytes] = []
    async with ScriptedServer(script, token=TOKEN) as server:
        job = SpeechSession(MODEL, config, listener=QuietSpeechListener(),
                            on_audio=lambda _r, _i, pcm, _rate: heard.append(pcm))
        await job.connect(server.url, TOKEN)
        await job.run(segments)
    return job, heard


@pytest.mark.parametrize("close", [(1000, "Model not found."), (1007, "The free tier of the model is exhausted.")])
async def test_a_close_without_audio_fails_with_the_servers_reason(close):
    job, heard = await _job(Script(tts_close_on_text=close), TtsSessionConfig(mode="commit"), ["Hello there."])
    assert not heard and not job.result.pcm
    assert close[1] in job.result.failure


async def test_a_session_that_finishes_without_audio_is_a_failure():
    job, heard = await _job(Script(tts_without_audio=True), TtsSessionConfig(mode="commit"), ["Hello there."])
    assert job.result.finished and job.result.responses == 1 and not heard
    assert "no audio" in job.result.failure


SEGMENTS = ["One sentence here.", "And another one."]


@pytest.mark.parametrize(("response_format", "rate", "bit_rate"), [
    ("pcm", 24000, None), ("wav", 24000, None), ("mp3", 24000, None), ("mp3", 16000, None),
    ("opus", 24000, 32), ("opus", 48000, None),
])
async def test_each_format_is_played_as_pcm_and_saved_as_the_server_sent_it(tmp_path, response_format, rate,
                                                                           bit_rate):
    config = TtsSessionConfig(mode="commit", response_format=response_format, sample_rate=rate, bit_rate=bit_rate)
    heard: list[tuple[str, bytes, int]] = []
    async with ScriptedServer(Script(tts_seconds_per_char=0.01), token=TOKEN) as server:
        job = SpeechSession(MODEL, config, listener=QuietSpeechListener(),
                            on_audio=lambda r, _i, pcm, at: heard.append((r, pcm, at)))
        await job.connect(server.url, TOKEN)
        result = await job.run(SEGMENTS)
        sent = bytes(server.connections[-1].audio_sent)
        update = server.received("session.update")[-1]["session"]
    assert result.failure == "" and result.responses == 2
    assert update["response_format"] == response_format and update.get("bit_rate") == bit_rate
    # What the player got: 16-bit mono PCM at the asked rate, as long as what the server encoded.
    assert {at for _r, _pcm, at in heard} == {rate} and result.rate == rate
    assert b"".join(pcm for _r, pcm, _at in heard) == bytes(result.pcm)
    for response_id, text in zip(sorted(result.response_ids), SEGMENTS, strict=True):
        played = sum(len(pcm) for r, pcm, _at in heard if r == response_id) // 2
        encoded = len(sine_pcm(len(text) * 0.01, rate)) // 2
        if response_format == "mp3":  # MP3 keeps the encoder's delay and pads to whole frames
            assert encoded <= played <= encoded + 0.1 * rate, (played, encoded)
        else:
            assert played == encoded
    if response_format != "pcm" and response_format != "wav":
        samples = np.frombuffer(bytes(result.pcm), "<i2")
        assert np.sqrt(np.mean(samples.astype(np.float64) ** 2)) > 0.1 * 32767  # a tone, not silence
    # What Save keeps: the server's bytes for compressed formats, a WAV of its samples otherwise.
    path = tmp_path / f"speech{result.file_suffix}"
    result.save(path)
    if response_format in ("mp3", "opus"):
        assert result.file_suffix == f".{response_format}" and path.read_bytes() == sent
    else:
        assert result.file_suffix == ".wav"
        saved = read_wav(path)
        assert saved.rate == rate and saved.pcm == b"".join(sine_pcm(len(t) * 0.01, rate, 220.0) for t in SEGMENTS)
