"""The controller against a real loopback realtime server (the scripted test server), no sound devices:
VAD and push-to-talk turns, typed messages, barge-in, errors, mode switching, persistence."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

from qwenvoice.app.controller import Controller, RunOptions, event_payload
from qwenvoice.audio.wav import read_wav
from qwenvoice.protocol import events as ev
from qwenvoice.protocol.tts_text import split_sentences
from qwenvoice.session import status as st
from qwenvoice.session.conversation import load_turns
from tests.gui.helpers import TOKEN, feed, wait_for
from tests.support.scripted_server import Script, ScriptedServer, speech_like_pcm


@pytest.fixture
async def make_controller(tmp_path, monkeypatch):
    monkeypatch.setenv("DASHSCOPE_API_KEY", TOKEN)
    monkeypatch.setenv("QWENVOICE_CONFIG_DIR", str(tmp_path / "config"))
    made: list[Controller] = []

    def make(url: str, mode: str = "vad") -> Controller:
        c = Controller(RunOptions(url=url, mode=mode, audio=False, data_root=tmp_path / "data",
                                  config_dir=tmp_path / "config"))
        made.append(c)
        return c

    yield make
    for c in made:
        await c.shutdown()  # idempotent; closes what a failed test left open


async def test_vad_turn_produces_user_and_assistant_turns(make_controller):
    async with ScriptedServer(Script(), token=TOKEN) as server:
        c = make_controller(server.url)
        # The audio is fed faster than real time, ahead of the server's speech events: keep all of it
        # (keeping speech only is tested with paced audio in tests/session/test_saved_audio.py).
        c.voice.load_settings()
        c.settings.audio.keep_audio = "all"
        changes: list[int] = []
        c.turn_changed.connect(changes.append)
        await c.start()
        await wait_for(lambda: c.connection.state == st.READY and c.session_configured)
        assert c.connection.model and c.connection.region == "custom"
        feed(c, speech_like_pcm(speech_s=0.6, tail_s=0.5))
        await wait_for(lambda: len(c.conversation.turns) >= 2 and c.conversation.turns[1].final,
                       what=lambda: ([(t.role, t.text, t.final) for t in c.conversation.turns],
                                     [r.type for r in c.eventlog.records() if r.direction == "in"][:12],
                                     server.connections[0].appended_audio_bytes))
        user, assistant = c.conversation.turns[:2]
        assert user.role == "user" and user.text == "What is the weather like?"
        assert assistant.role == "assistant" and assistant.text == "It is sunny and warm today."
        assert not assistant.interrupted and changes
        assert c.metrics.usage.total_tokens == 120
        session = server.received("session.update")[0]["session"]
        assert session["turn_detection"]["type"] == "server_vad"
        assert server.connections[0].appended_audio_bytes > 0
        # persisted as it happened
        folder = c.conversation.folder
        await c.shutdown()
        assert [t.text for t in load_turns(folder)] == [user.text, assistant.text]
        assert (folder / "assistant.wav").stat().st_size > 44 and (folder / "user.wav").stat().st_size > 44
        types = {r.type for r in c.eventlog.records()}
        assert {"session.update", "input_audio_buffer.append", "response.audio.delta", "response.done"} <= types


async def test_push_to_talk_commits_and_asks_for_a_reply(make_controller):
    async with ScriptedServer(Script(), token=TOKEN) as server:
        c = make_controller(server.url, mode="ptt")
        await c.start()
        await wait_for(lambda: c.connection.state == st.READY and server.received("session.update"))
        assert server.received("session.update")[0]["session"].get("turn_detection") is None
        feed(c, speech_like_pcm())  # not held: nothing is sent
        assert server.connections[0].appended_audio_bytes == 0
        talking: list[bool] = []
        c.talking_changed.connect(talking.append)
        await wait_for(lambda: c.session_configured)
        c.press_talk()
        feed(c, speech_like_pcm())
        c.release_talk()
        assert talking == [True, False]
        await wait_for(lambda: len(c.conversation.turns) >= 2 and c.conversation.turns[-1].final)
        types = server.connections[0].types()
        assert types.index("input_audio_buffer.commit") < types.index("response.create")
        assert c.conversation.turns[0].text == "What is the weather like?"
        assert c.metrics.pending.speech_end is not None
        await c.shutdown()


async def test_too_short_a_press_is_not_sent(make_controller):
    async with ScriptedServer(Script(), token=TOKEN) as server:
        c = make_controller(server.url, mode="ptt")
        notices: list[tuple[str, str, str]] = []
        c.notice.connect(lambda *a: notices.append(a))
        await c.start()
        await wait_for(lambda: c.connection.state == st.READY)
        c.press_talk()
        c.release_talk()
        assert any("too short" in n[1] for n in notices)
        await asyncio.sleep(0.2)
        assert "input_audio_buffer.commit" not in server.connections[0].types()
        await c.shutdown()


async def test_typed_message_and_live_mode_switch(make_controller):
    async with ScriptedServer(Script(reply_text="Typed reply."), token=TOKEN) as server:
        c = make_controller(server.url)
        modes: list[str] = []
        c.mode_changed.connect(modes.append)
        await c.start()
        await wait_for(lambda: c.connection.state == st.READY)
        c.send_text("hello by text")
        await wait_for(lambda: len(c.conversation.turns) >= 2 and c.conversation.turns[-1].final)
        assert c.conversation.turns[0].source == "text" and c.conversation.turns[1].text == "Typed reply."
        created = server.received("conversation.item.create")[0]["item"]
        assert created["content"][0] == {"type": "input_text", "text": "hello by text"}
        c.set_mode("ptt")
        await wait_for(lambda: len(server.received("session.update")) == 2)
        assert server.received("session.update")[1]["session"].get("turn_detection") is None
        c.set_mode("vad")
        await wait_for(lambda: len(server.received("session.update")) == 3)
        assert server.received("session.update")[2]["session"]["turn_detection"]["type"] == "server_vad"
        assert modes[-2:] == ["ptt", "vad"]
        await c.shutdown()


async def test_stop_cuts_in_cancels_and_drops_late_audio(make_controller):
    script = Script(reply_seconds=3.0, delta_ms=100, delta_delay=0.05,
                    reply_text="one two three four five six seven eight nine ten eleven twelve")
    async with ScriptedServer(script, token=TOKEN) as server:
        c = make_controller(server.url)
        await c.start()
        await wait_for(lambda: c.connection.state == st.READY)
        c.send_text("talk for a while")
        await wait_for(lambda: c.response_active and c.assistant_ring.head > 0)
        c.stop()
        assert not c.response_active
        turn = c.conversation.turns[-1]
        assert turn.interrupted and turn.role == "assistant"
        await wait_for(lambda: c.dropped_late_deltas > 0)
        await wait_for(lambda: "response.cancel" in server.connections[0].types())
        assert c.assistant_ring.head <= c.assistant_ring.position_now() + 1
        await c.shutdown()


async def test_server_errors_become_notices_and_never_raise(make_controller):
    error = {"type": "invalid_request_error", "code": "invalid_value", "message": "Voice 'x' is not supported.",
             "param": "session.voice"}
    async with ScriptedServer(Script(error_events=[error], unknown_events=2,
                                     malformed_frames=["{not json"]), token=TOKEN) as server:
        c = make_controller(server.url)
        notices: list[tuple[str, str, str]] = []
        c.notice.connect(lambda *a: notices.append(a))
        await c.start()
        await wait_for(lambda: any("not supported" in n[1] for n in notices))
        level, text, action = next(n for n in notices if "not supported" in n[1])
        assert level == st.ERROR and "session.voice" in text and action == st.ACTION_OPEN_SETTINGS
        assert any(r.type == "<malformed>" for r in c.eventlog.records())
        await c.shutdown()


async def test_refused_key_fails_with_advice(make_controller):
    async with ScriptedServer(Script(http_status=401), token=TOKEN) as server:
        c = make_controller(server.url)
        notices: list[tuple[str, str, str]] = []
        c.notice.connect(lambda *a: notices.append(a))
        await c.start()
        await wait_for(lambda: c.connection.state == st.FAILED)
        assert any("API key" in n[1] for n in notices)
        await c.shutdown()


def test_event_payload_elides_audio_and_segments():
    payload, size = event_payload(ev.InputAudioBufferAppend(audio=bytes(3200)))
    assert payload == {"type": "input_audio_buffer.append", "audio": "<audio: 3200 bytes elided>"}
    assert size > 4000
    assert split_sentences("One. Two!  Three?\n\nFour") == ["One.", "Two!", "Three?", "Four"]


@pytest.mark.parametrize("mode", ["commit", "server_commit"])
async def test_speech_studio_streams_the_text_and_reports_progress(make_controller, mode):
    """The studio's text through the TTS protocol (TtsSession) to the scripted TTS server: every
    segment's audio arrives and is kept, progress counts the responses, the inspector logs both ways."""
    async with ScriptedServer(Script(tts_seconds_per_char=0.01), token=TOKEN) as server:
        c = make_controller(server.url)
        states: list[tuple[str, str]] = []
        progress: list[tuple[int, int]] = []
        c.tts_state_changed.connect(lambda s, d: states.append((s, d)))
        c.tts_progress.connect(lambda d, e: progress.append((d, e)))
        await c.start()
        await wait_for(lambda: c.connection.state == st.READY)
        text = ("First sentence here. Still the first paragraph!\nAnd its second line.\n\n"
                "Second one follows.\n\nA third?")
        c.speak(text, mode)
        await wait_for(lambda: states and states[-1][0] in ("done", "failed"), within=20)
        assert states[0][0] == "connecting" and states[-1][0] == "done", states
        assert progress[-1][0] == progress[-1][1] >= 1
        if mode == "commit":
            # "One segment per paragraph": a commit per paragraph, whatever its sentences and lines.
            assert progress[0] == (0, 3) and progress[-1] == (3, 3)
            tts = next(x for x in server.connections if "tts" in x.model)
            committed, buffer = [], ""
            for message in tts.received:
                if message.get("type") == "input_text_buffer.append":
                    buffer += message["text"]
                elif message.get("type") == "input_text_buffer.commit":
                    committed.append(buffer.strip())
                    buffer = ""
            assert committed == ["First sentence here. Still the first paragraph!\nAnd its second line.",
                                 "Second one follows.", "A third?"]
        else:
            assert progress[0] == (0, 5)  # the server decides; the sentences are the estimate
        assert c.speech_duration_s() > 0.3  # the audio is kept for "Save as WAV"
        sent = [r.type for r in c.eventlog.records() if r.direction == "out"]
        received = {r.type for r in c.eventlog.records() if r.direction == "in"}
        assert sent[0] == "session.update" and sent[-1] == "session.finish"
        assert sent.count("input_text_buffer.commit") == (3 if mode == "commit" else 0)
        assert {"response.audio.delta", "response.done", "session.finished"} <= received
        assert [x.model for x in server.connections if "tts" in x.model] == [c.settings.connection.tts_model]


@pytest.mark.parametrize("response_format", ["pcm", "wav", "mp3", "opus"])
async def test_speech_studio_and_voice_preview_honour_the_format_setting(make_controller, tmp_path, response_format):
    """The Format setting is what the server is asked for (with the bit rate only where it is taken: Opus);
    the studio plays every format and Save keeps what the server sent, named by its format."""
    async with ScriptedServer(Script(tts_seconds_per_char=0.01), token=TOKEN) as server:
        c = make_controller(server.url)
        states: list[tuple[str, str]] = []
        c.tts_state_changed.connect(lambda s, d: states.append((s, d)))
        await c.start()
        await wait_for(lambda: c.connection.state == st.READY)
        settings = c.settings.copy()
        settings.tts = dataclasses.replace(settings.tts, response_format=response_format, bit_rate=32)
        c.apply_settings(settings)
        c.speak("First sentence here. A second one.", "commit")
        await wait_for(lambda: states and states[-1][0] in ("done", "failed"), within=20)
        assert states[-1][0] == "done", states
        tts = [x for x in server.connections if "tts" in x.model]
        update = [m for m in tts[0].received if m.get("type") == "session.update"][0]["session"]
        assert update["response_format"] == response_format
        assert update.get("bit_rate") == (32 if response_format == "opus" else None)
        assert 0.3 < c.speech_duration_s() < 0.6  # decoded PCM: 34 characters at 0.01 s each
        suffix = c.speech_file_suffix()
        assert suffix == {"pcm": ".wav", "wav": ".wav"}.get(response_format, f".{response_format}")
        saved = c.save_speech(tmp_path / f"speech{suffix}")
        if response_format in ("mp3", "opus"):
            assert saved.read_bytes() == bytes(tts[0].audio_sent)
        else:
            headers = 44 * bytes(tts[0].audio_sent).count(b"RIFF")  # the wire has one per response
            assert read_wav(saved).rate == 24000 and len(read_wav(saved).pcm) == len(tts[0].audio_sent) - headers
        # The settings' Preview voice takes the same path.
        await c.preview_voice(c.settings.connection.tts_model, settings.tts, "Hi there.")
        assert states[-1][0] == "done", states


@pytest.mark.parametrize(("script", "reason"), [
    (Script(tts_close_on_text=(1000, "Model not found.")), "Model not found."),
    (Script(tts_without_audio=True), "no audio"),
])
async def test_speech_studio_fails_with_the_reason_when_the_server_sends_no_audio(make_controller, script, reason):
    async with ScriptedServer(script, token=TOKEN) as server:
        c = make_controller(server.url)
        states: list[tuple[str, str]] = []
        notices: list[tuple[str, str, str]] = []
        c.tts_state_changed.connect(lambda s, d: states.append((s, d)))
        c.notice.connect(lambda *a: notices.append(a))
        await c.start()
        await wait_for(lambda: c.connection.state == st.READY)
        c.speak("Hello there.", "commit")
        await wait_for(lambda: states and states[-1][0] in ("done", "failed"), within=20)
        assert states[-1][0] == "failed" and reason in states[-1][1], states
        assert any(reason in n[1] for n in notices), notices


async def test_speech_studio_shows_a_refused_setting_and_ends_failed(make_controller):
    refusal = {"type": "invalid_request_error", "code": "invalid_value", "message": "voice 'Nobody' is not supported",
               "param": "session.voice"}
    async with ScriptedServer(Script(reject_session_update=refusal, close_after_reject=True), token=TOKEN) as server:
        c = make_controller(server.url)
        states: list[tuple[str, str]] = []
        notices: list[tuple[str, str, str]] = []
        c.tts_state_changed.connect(lambda s, d: states.append((s, d)))
        c.notice.connect(lambda *a: notices.append(a))
        await c.start()  # the conversation's session is refused too; the studio opens its own
        c.speak("Hello there.", "commit")
        await wait_for(lambda: states and states[-1][0] in ("done", "failed"), within=20)
        assert states[-1][0] == "failed" and "Nobody" in states[-1][1], states
        assert any("Nobody" in n[1] for n in notices), notices
