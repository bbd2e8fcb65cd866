"""One TTS job (SpeechSession) without Qt against the scripted realtime server on 127.0.0.1: what counts
as a failure, and each response_format played and kept."""

from __future__ import annotations

import pytest

from qwenvoice.protocol.config import TtsSessionConfig
from qwenvoice.session.reports import QuietSpeechListener
from qwenvoice.session.speech import SpeechSession
from tests.reliability.helpers import TOKEN
from tests.support.scripted_server import Script, ScriptedServer

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
