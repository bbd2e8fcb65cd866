"""A busy conversation still renews its session before the cap: typed turns back to back, never
``renew_quiet`` seconds of silence, so the renewal takes the moment between two turns (a reply just
finished, nothing sent since) and no reply is cut."""

from __future__ import annotations

import asyncio
import time

import pytest

from qwenvoice.net.client import ConnectOptions
from qwenvoice.session import status as st
from qwenvoice.session.voice import RunOptions, VoiceSession
from tests.reliability.helpers import TOKEN
from tests.session.test_voice_session import Recorder, until
from tests.support.scripted_server import Script, ScriptedServer

REPLY = "A reply of a few words, spoken in full."


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DASHSCOPE_API_KEY", TOKEN)


async def test_back_to_back_turns_renew_between_two_turns_and_lose_nothing(tmp_path):
    # Quiet would need 5 s of silence, which never comes; between turns is taken 0.5 s after due.
    connect = ConnectOptions(ping_interval=2.0, ping_timeout=2.0, renew_after=2.0, renew_quiet=5.0,
                             renew_turn_grace=0.5, renew_force_after=60.0)
    script = Script(reply_text=REPLY, reply_seconds=0.3, delta_ms=100, max_session_seconds=60.0)
    async with ScriptedServer(script, token=TOKEN) as server:
        rec = Recorder()
        session = VoiceSession(rec, RunOptions(url=server.url, audio=False, data_root=tmp_path / "data",
                                               config_dir=tmp_path / "config", connect_options=connect))
        session.load_settings()
        session.settings.omni.instructions = "Keep answers short."
        try:
            await session.start()
            await until(lambda: session.connection.state == st.READY)
            client = session.client
            assert client is not None
            started = time.monotonic()
            turn = 0
            after_renewal = 0
            while after_renewal < 3:  # a few turns on the renewed session too
                assert time.monotonic() - started < 30, "no renewal in a busy conversation"
                turn += 1
                # Not while the last reply still plays: typing then would cut it (a barge-in).
                await until(lambda: session.ready and not session.replies.response_active
                            and not session.audio.playing(), 10)
                session.send_text(f"typed question {turn}")
                await until(lambda t=turn: len(session.conversation.turns) >= 2 * t
                            and session.conversation.turns[-1].role == "assistant"
                            and session.conversation.turns[-1].final, 10,
                            lambda: [(t.role, t.text, t.final) for t in session.conversation.turns[-3:]])
                if client.stats.renewals:
                    after_renewal += 1
            await asyncio.sleep(0.3)

            assert client.stats.renewals >= 1 and client.stats.reconnects == 0
            turns = session.conversation.turns
            assert [t.role for t in turns] == ["user", "assistant"] * turn
            assert [t.text for t in turns[::2]] == [f"typed question {i}" for i in range(1, turn + 1)]
            cut = [(i, t.text) for i, t in enumerate(turns) if t.role == "assistant"
                   and (t.interrupted or not t.final or t.text != REPLY)]
            assert not cut, [(i, turns[i].final, turns[i].interrupted, turns[i].heard_chars) for i, _ in cut]
            assert server.responses == turn  # every question answered once, none lost in the hand-over
            assert len(server.connections) >= 2 and server.connections[0].closed_by == "client"
            # The renewed session was configured with the instructions and a summary that reaches the
            # last turn answered by the old session (the turns are numbered, so it is easy to tell).
            renewed = server.connections[1].received
            assert renewed[0]["type"] == "session.update"
            first_item = next(i for i, m in enumerate(renewed) if m["type"] == "conversation.item.create")
            first_question = renewed[first_item]["item"]["content"][0]["text"]
            n = int(first_question.rsplit(" ", 1)[1])
            assert n >= 2
            configured = [m["session"] for m in renewed[:first_item] if m["type"] == "session.update"][-1]
            instructions = configured["instructions"]
            assert instructions.startswith("Keep answers short.")
            assert "Conversation so far" in instructions
            assert f"typed question {n - 1}\n" in instructions and REPLY in instructions
            assert f"typed question {n}\n" not in instructions
            assert st.RECONNECTING not in rec.states
            assert not [n for n in rec.notices if n[0] in (st.WARNING, st.ERROR)], rec.notices
        finally:
            await session.shutdown()
