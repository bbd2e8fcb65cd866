"""A conversation killed with SIGKILL mid-reply leaves files any reader takes whole: both WAV tracks'
headers cover every appended frame (the standard library's ``wave`` reads them all), events.jsonl has
every line, and the reply that never finished is marked as cut off when the conversation is read back."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import wave
from pathlib import Path

import numpy as np

from qwenvoice.session.conversation import ASSISTANT, USER, list_conversations, load_turns, transcript_markdown

REPO = Path(__file__).resolve().parents[3]

CHILD = textwrap.dedent("""
    import json, sys
    import numpy as np
    from pathlib import Path
    from qwenvoice.session.conversation import Conversation

    conv = Conversation.create(Path(sys.argv[1]))
    conv.user_transcript("item_1", "tell me a story", final=True)
    conv.assistant_started("resp_1")
    events = 0
    for i in range(40):  # 40 blocks of 20 ms each, faster than real time, as replies stream
        conv.append_user_audio(np.full(320, i + 1, dtype=np.int16).tobytes())
        conv.append_assistant_audio(np.full(480, -(i + 1), dtype=np.int16).tobytes())
        conv.assistant_delta("resp_1", f"word{i} ")
        conv.log_event_line(json.dumps({"type": "response.audio.delta", "n": i}))
        events += 1
    print(json.dumps({"folder": str(conv.folder), "events": events,
                      "user": conv.user_track.samples_written,
                      "assistant": conv.assistant_track.samples_written}), flush=True)
    sys.stdin.read()  # mid-reply: wait here until killed
""")


def test_a_conversation_killed_mid_reply_leaves_whole_files(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(REPO))
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(tmp_path / "data")], env=env, cwd=REPO,
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        line = child.stdout.readline()
        assert line, child.stderr.read() if child.stderr else ""
        state = json.loads(line)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
    assert child.returncode == -signal.SIGKILL
    folder = Path(state["folder"])

    for name, rate, written, last in (("user.wav", 16000, state["user"], 40),
                                      ("assistant.wav", 24000, state["assistant"], -40)):
        with wave.open(str(folder / name)) as w:
            assert w.getframerate() == rate
            assert w.getnframes() == written, name  # the header covers every frame appended
            frames = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
        assert len(frames) == written and frames[-1] == last, name

    lines = (folder / "events.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["n"] for line in lines] == list(range(state["events"]))

    turns = load_turns(folder)
    assert [t.role for t in turns] == [USER, ASSISTANT]
    assert not turns[0].interrupted  # the user's turn was complete
    reply = turns[1]
    assert reply.text.startswith("word0 word1") and reply.text.strip().endswith("word39")
    assert reply.interrupted and reply.heard_chars == len(reply.text)  # shown as cut off, text kept
    assert "interrupted" in transcript_markdown(turns)
    assert [s.turn_count for s in list_conversations(tmp_path / "data")] == [2]
