"""`qwenvoice speak` and `qwenvoice ask` against the scripted server: happy paths, every fault, exit codes.

Most tests call the commands in-process (``run_speak``/``run_ask``, the server on its own thread);
a few run the real entry point as a subprocess.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import types
import wave
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from qwenvoice.audio.wav import split_wav_header, wav_header, write_wav
from qwenvoice.cli import build_parser
from qwenvoice.commands.ask import run_ask
from qwenvoice.commands.speak import run_speak
from qwenvoice.protocol.tts_text import sentence_pieces, text_chunks
from tests.support.scripted_server import (
    ERROR_SEED_INVALID_REQUEST,
    ERROR_TTS,
    ERROR_WITH_EVENT_ID,
    FREE_TIER_REASON,
    Script,
    ScriptedServer,
    sine_pcm,
    speech_like_pcm,
)

ROOT = Path(__file__).resolve().parents[2]
TEXT = "Hello there. This is a streaming speech test! Good bye."
CANARY = "qv-cli-canary-4d5e6f7a8b"


@pytest.fixture(autouse=True)
def no_real_key(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    monkeypatch.delenv("DASHSCOPE_API_KEY", raising=False)
    monkeypatch.setenv("QWENVOICE_CONFIG_DIR", str(tmp_path_factory.mktemp("config")))  # no saved settings
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")
    monkeypatch.setenv("QWENVOICE_ASK_PACE", "0")
    monkeypatch.setenv("QWENVOICE_SPEAK_PACE", "0")


@pytest.fixture
def question(tmp_path: Path) -> Path:
    """1.3 s of speech-like audio as 44.1 kHz stereo (the command must resample and downmix)."""
    mono = np.frombuffer(speech_like_pcm(44100), dtype="<i2")
    path = tmp_path / "question.wav"
    write_wav(path, np.repeat(mono, 2).tobytes(), 44100, channels=2)
    return path


def read_wav(path: Path) -> tuple[int, int, bytes]:
    with wave.open(str(path), "rb") as w:
        return w.getframerate(), w.getnchannels(), w.readframes(w.getnframes())


def speak(script: Script, tmp_path: Path, capsys: pytest.CaptureFixture[str], *extra: str,
          text: str = TEXT) -> tuple[int, str, str, ScriptedServer]:
    with ScriptedServer(script).in_thread() as server:
        args = build_parser().parse_args(["speak", text, "--out", str(tmp_path / "out.wav"), "--url", server.url,
                                          *extra])
        code = run_speak(args)
    out, err = capsys.readouterr()
    return code, out, err, server


def ask(script: Script, wav: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        *extra: str) -> tuple[int, str, str, ScriptedServer]:
    with ScriptedServer(script).in_thread() as server:
        args = build_parser().parse_args(["ask", "--wav", str(wav), "--out", str(tmp_path / "reply.wav"),
                                          "--url", server.url, *extra])
        code = run_ask(args)
    out, err = capsys.readouterr()
    return code, out, err, server


def tts_pcm_bytes(text: str, script: Script, rate: int = 24000) -> int:
    return int(round(max(0.05, len(text.strip()) * script.tts_seconds_per_char) * rate)) * 2


# ------------------------------------------------------------------------------------------------ speak


def test_speak_server_commit_streams_text_and_writes_the_wav(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script = Script()
    code, out, err, server = speak(script, tmp_path, capsys)
    assert code == 0, err
    conn = server.connections[0]
    types_ = conn.types()
    assert types_[0] == "session.update" and types_[-1] == "session.finish"
    appends = [m["text"] for m in conn.received if m["type"] == "input_text_buffer.append"]
    assert len(appends) >= 3 and "".join(appends) == TEXT  # small word groups, nothing lost
    assert "input_text_buffer.commit" not in types_
    session = conn.received[0]["session"]
    assert session["mode"] == "server_commit" and session["voice"] == "Cherry"
    assert "model=qwen3-tts-flash-realtime" in conn.path
    rate, channels, frames = read_wav(tmp_path / "out.wav")
    assert (rate, channels) == (24000, 1)
    expected = sum(tts_pcm_bytes(s, script) for s in sentence_pieces(TEXT))
    assert len(frames) == expected
    latency = re.search(r"first audio after (\d+) ms", out)
    assert latency is not None and int(latency.group(1)) < 5000


def test_speak_commit_mode_commits_each_sentence(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err, server = speak(Script(), tmp_path, capsys, "--mode", "commit")
    assert code == 0, err
    types_ = server.connections[0].types()
    assert types_.count("input_text_buffer.commit") == 3
    assert types_[-2:] == ["input_text_buffer.commit", "session.finish"]
    assert "in 3 response(s)" in out
    assert server.connections[0].received[0]["session"]["mode"] == "commit"


def test_speak_options_reach_the_session_update(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err, server = speak(
        Script(), tmp_path, capsys, "--voice", "Ethan", "--language", "English", "--speech-rate", "1.5",
        "--volume", "80", "--pitch-rate", "0.9", "--sample-rate", "16000",
    )
    assert code == 0, err
    session = server.connections[0].received[0]["session"]
    assert {k: session[k] for k in ("voice", "language_type", "speech_rate", "volume", "pitch_rate", "sample_rate")} \
        == {"voice": "Ethan", "language_type": "English", "speech_rate": 1.5, "volume": 80, "pitch_rate": 0.9,
            "sample_rate": 16000}
    rate, _, frames = read_wav(tmp_path / "out.wav")
    assert rate == 16000 and len(frames) > 0


@pytest.mark.parametrize(("option", "value"), [("--speech-rate", "5"), ("--volume", "101"), ("--pitch-rate", "0.1")])
def test_speak_refuses_out_of_range_options_before_connecting(
    option: str, value: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err, server = speak(Script(), tmp_path, capsys, option, value)
    assert code == 2
    assert f"invalid {option}:" in err
    assert server.handshakes == 0


def test_speak_wav_format_strips_the_riff_header_of_every_response(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script = Script()
    code, _, err, _server = speak(script, tmp_path, capsys, "--format", "wav", "--mode", "commit")
    assert code == 0, err
    _, _, frames = read_wav(tmp_path / "out.wav")
    assert b"RIFF" not in frames and b"WAVEfmt" not in frames
    assert len(frames) == sum(tts_pcm_bytes(s, script) for s in sentence_pieces(TEXT))


@pytest.mark.parametrize("error", [ERROR_TTS, ERROR_WITH_EVENT_ID, ERROR_SEED_INVALID_REQUEST])
def test_speak_error_event_exits_1_with_the_message(
    error: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err, _server = speak(Script(reject_session_update=error), tmp_path, capsys)
    assert code == 1
    assert error["message"] in err and f"code={error['code']}" in err
    if error.get("param"):
        assert f"param={error['param']}" in err


def test_speak_prints_the_characters_the_server_billed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err, _server = speak(Script(), tmp_path, capsys, "--mode", "commit")
    assert code == 0, err
    billed = sum(len(s) for s in sentence_pieces(TEXT))  # the scripted server bills what it synthesised
    assert f"usage: 0 tokens, {billed} TTS characters, ≈ $" in out, out


def test_speak_error_instead_of_audio_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err, _server = speak(Script(error_on_response=ERROR_TTS), tmp_path, capsys)
    assert code == 1 and ERROR_TTS["message"] in err


def test_speak_connection_drop_saves_what_arrived_and_exits_3(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err, server = speak(Script(drop_after_deltas=2), tmp_path, capsys, text="A long sentence " * 10 + ".")
    assert code == 3
    assert "connection lost:" in err and "1006" in err
    _, _, frames = read_wav(tmp_path / "out.wav")
    assert len(frames) == 2 * 2400 * 2  # exactly the two 100 ms deltas that arrived
    assert server.handshakes == 1  # one-shot command: no reconnect


def test_speak_401_exits_4_without_retrying(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err, server = speak(Script(http_status=401, http_body="Invalid API-key provided."), tmp_path, capsys)
    assert code == 4
    assert "authentication failed (HTTP 401): check the API key and that it belongs to this region" in err
    assert "Invalid API-key provided." in err
    assert server.handshakes == 1


def test_speak_shows_the_long_1007_reason(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err, server = speak(Script(close_after_created=(1007, FREE_TIER_REASON)), tmp_path, capsys)
    assert code == 3
    assert FREE_TIER_REASON in err and "1007" in err
    assert server.handshakes == 1


def test_speak_survives_malformed_and_unknown_frames(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    script = Script(malformed_frames=["{", "null", '{"type": 5}'], unknown_events=3)
    code, _, err, _server = speak(script, tmp_path, capsys)
    assert code == 0, err
    _, _, frames = read_wav(tmp_path / "out.wav")
    assert len(frames) == sum(tts_pcm_bytes(s, script) for s in sentence_pieces(TEXT))


def test_speak_with_a_slow_jittery_server(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    script = Script(delta_ms=40, delta_delay=0.01, delta_jitter=0.008)
    code, _, err, _server = speak(script, tmp_path, capsys)
    assert code == 0, err
    _, _, frames = read_wav(tmp_path / "out.wav")
    assert len(frames) == sum(tts_pcm_bytes(s, script) for s in sentence_pieces(TEXT))


def test_speak_idle_cut_is_reported_as_connection_lost(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QWENVOICE_SPEAK_PACE", "0.4")  # a slow typist; the server cuts idle sockets at 0.2 s
    code, _, err, _server = speak(Script(idle_cut_after=0.2), tmp_path, capsys)
    assert code == 3 and "connection lost:" in err


def test_speak_refuses_plain_ws_to_a_remote_host(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = build_parser().parse_args(["speak", "hi", "--out", str(tmp_path / "x.wav"), "--url", "ws://example.com/rt"])
    assert run_speak(args) == 2
    assert "refusing plain ws://" in capsys.readouterr().err


# ------------------------------------------------------------------------------------------------ ask


def test_ask_vad_turn_prints_both_transcripts_and_saves_the_reply(
    question: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script = Script(reply_seconds=0.6)
    code, out, err, server = ask(script, question, tmp_path, capsys)
    assert code == 0, err
    assert "you: What is the weather like?" in out.splitlines()
    assert "assistant: It is sunny and warm today." in out.splitlines()
    rate, channels, frames = read_wav(tmp_path / "reply.wav")
    assert (rate, channels) == (24000, 1) and frames == sine_pcm(0.6, 24000, 330.0)
    conn = server.connections[0]
    assert conn.types()[0] == "session.update"
    assert conn.received[0]["session"]["turn_detection"] is not None
    assert "input_audio_buffer.commit" not in conn.types() and "response.create" not in conn.types()
    appends = [m for m in conn.received if m["type"] == "input_audio_buffer.append"]
    # 16 kHz mono in 40 ms chunks: the 1.3 s question (resampled from 44.1 kHz stereo) plus trailing silence.
    assert conn.appended_audio_bytes >= int(1.3 * 32000)
    assert len(appends) * 1280 >= conn.appended_audio_bytes >= (len(appends) - 1) * 1280


def test_ask_manual_commits_then_asks_for_the_response(
    question: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err, server = ask(Script(), question, tmp_path, capsys, "--manual", "--voice", "Ethan",
                                 "--instructions", "Be brief.")
    assert code == 0, err
    conn = server.connections[0]
    session = conn.received[0]["session"]
    assert session["turn_detection"] is None and session["voice"] == "Ethan" and session["instructions"] == "Be brief."
    types_ = conn.types()
    assert types_[-1] == "session.finish"  # the command ends its session cleanly
    types_ = types_[:-1]
    assert types_[-2:] == ["input_audio_buffer.commit", "response.create"]
    assert set(types_[1:-2]) == {"input_audio_buffer.append"}
    # Exactly the question's audio: 1.3 s at 16 kHz mono.
    assert abs(conn.appended_audio_bytes - int(1.3 * 32000)) <= 4
    assert "you: What is the weather like?" in out


def test_ask_streams_at_real_time_pace_by_default(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QWENVOICE_ASK_PACE", "1")
    short = tmp_path / "short.wav"
    write_wav(short, speech_like_pcm(16000, speech_s=0.3, lead_s=0.1, tail_s=0.1), 16000)
    started = time.monotonic()
    code, _, err, _server = ask(Script(), short, tmp_path, capsys, "--manual")
    assert code == 0, err
    assert time.monotonic() - started >= 0.45  # 0.5 s of audio is not sent faster than it plays


def test_ask_drop_mid_reply_keeps_partial_audio_and_exits_3(
    question: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err, server = ask(Script(drop_after_deltas=2, reply_seconds=0.6), question, tmp_path, capsys)
    assert code == 3
    assert "connection lost during the reply:" in err
    assert "assistant: It is sunny" in out  # what arrived was shown
    _, _, frames = read_wav(tmp_path / "reply.wav")
    assert frames == sine_pcm(0.6, 24000, 330.0)[: 2 * 2400 * 2]
    assert server.handshakes == 1


def test_ask_401_exits_4_without_retrying(question: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err, server = ask(Script(http_status=401), question, tmp_path, capsys)
    assert code == 4 and "authentication failed (HTTP 401)" in err
    assert server.handshakes == 1


def test_ask_error_event_exits_1(question: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err, _server = ask(Script(error_on_response=ERROR_SEED_INVALID_REQUEST), question, tmp_path, capsys)
    assert code == 1
    assert "Invalid modalities" in err and "param=session.modalities" in err and "type=invalid_request_error" in err


@pytest.mark.parametrize("close", [False, True])
def test_ask_refused_configuration_exits_1_naming_the_field(
    close: bool, question: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script = Script(reject_session_update=ERROR_WITH_EVENT_ID, close_after_reject=close)
    code, _, err, server = ask(script, question, tmp_path, capsys)
    assert code == 1, err
    assert "param=session.voice" in err and ERROR_WITH_EVENT_ID["message"] in err
    assert "input_audio_buffer.append" not in server.connections[0].types()  # never sent as if configured
    assert server.handshakes == 1


@pytest.mark.parametrize(("status", "details", "code"), [
    ("incomplete", {"type": "incomplete", "reason": "max_output_tokens"}, 0),
    ("failed", {"type": "failed", "error": {"code": "internal_error", "message": "The model is overloaded."}}, 1),
])
def test_ask_says_when_the_server_did_not_complete_the_reply(
    status: str, details: dict[str, Any], code: int, question: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script = Script(response_status=status, response_status_details=details)
    exit_code, _, err, _server = ask(script, question, tmp_path, capsys)
    assert exit_code == code, err
    reason = details.get("reason") or details["error"]["message"]
    assert f"the reply is {status}: {reason}" in err


def test_ask_shows_the_long_1007_reason(question: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err, _server = ask(Script(close_after_created=(1007, FREE_TIER_REASON)), question, tmp_path, capsys)
    assert code == 3 and FREE_TIER_REASON in err


def test_ask_survives_malformed_unknown_and_slow_frames(
    question: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script = Script(malformed_frames=["{"], unknown_events=2, delta_delay=0.01, delta_jitter=0.005,
                    error_events=[])
    code, out, err, _server = ask(script, question, tmp_path, capsys, "--manual")
    assert code == 0, err
    assert "assistant: It is sunny and warm today." in out


def test_ask_times_out_when_no_turn_is_detected(
    question: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err, _server = ask(Script(vad_threshold=2.0), question, tmp_path, capsys, "--timeout", "0.5")
    assert code == 5 and "no complete reply" in err


def test_ask_rejects_a_non_16_bit_wav(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "8bit.wav"
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(1)
        w.setframerate(8000)
        w.writeframes(bytes(800))
    code, _, err, server = ask(Script(), path, tmp_path, capsys)
    assert code == 2 and "only 16-bit PCM" in err and server.handshakes == 0


def test_play_and_mic_report_not_available_without_the_audio_hook(
    question: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "qwenvoice.commands.terminal_audio", None)  # import fails
    code, _, err, server = ask(Script(), question, tmp_path, capsys, "--play")
    assert code == 2 and "--play is not available yet" in err and server.handshakes == 0
    args = build_parser().parse_args(["ask", "--mic", "--url", server.url])
    assert run_ask(args) == 2
    assert "--mic is not available yet" in capsys.readouterr().err


class RecordingSink:
    def __init__(self, rate: int) -> None:
        self.rate = rate
        self.data = bytearray()
        self.drained = self.closed = False

    def write(self, pcm: bytes) -> None:
        self.data += pcm

    async def drain(self) -> None:
        self.drained = True

    def close(self) -> None:
        self.closed = True


def test_play_hook_receives_the_reply_audio(
    question: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    sinks: list[RecordingSink] = []
    hook = types.ModuleType("qwenvoice.commands.terminal_audio")

    def open_player(rate: int, device: str | None) -> RecordingSink:
        sinks.append(RecordingSink(rate))
        return sinks[-1]

    hook.open_player = open_player  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "qwenvoice.commands.terminal_audio", hook)
    code, _, err, _server = ask(Script(reply_seconds=0.3), question, tmp_path, capsys, "--play")
    assert code == 0, err
    (sink,) = sinks
    assert sink.rate == 24000 and bytes(sink.data) == sine_pcm(0.3, 24000, 330.0)
    assert sink.drained and sink.closed


# ------------------------------------------------------------------------------------------------ helpers


def test_text_chunks_and_sentences_keep_every_character() -> None:
    text = "  One two three four five. Six seven!  Eight?"
    assert "".join(text_chunks(text)) == text
    assert all(len(c.split()) <= 3 for c in text_chunks(text))
    assert "".join(sentence_pieces(text)).strip() == text.strip()
    assert len(sentence_pieces(text)) == 3
    assert sentence_pieces("你好。今天天气很好！") == ["你好。", "今天天气很好！"]


def test_split_wav_header() -> None:
    pcm = sine_pcm(0.01, 16000)
    assert split_wav_header(wav_header(16000) + pcm) == (pcm, 16000)
    assert split_wav_header(pcm) == (pcm, None)


# ------------------------------------------------------------------------------------------------ subprocess


def cli_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "DASHSCOPE_API_KEY"}
    env.update(PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring", QWENVOICE_ASK_PACE="0",
               QWENVOICE_SPEAK_PACE="0", PYTHONPATH=str(ROOT), QWENVOICE_CONFIG_DIR=os.environ["QWENVOICE_CONFIG_DIR"])
    env.update(extra)
    return env


def run_cli(*argv: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "qwenvoice", *argv], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=60)


def test_cli_speak_and_ask_as_subprocesses(question: Path, tmp_path: Path) -> None:
    with ScriptedServer(Script()).in_thread() as server:
        speak_run = run_cli("speak", TEXT, "--out", str(tmp_path / "s.wav"), "--url", server.url, env=cli_env())
        ask_run = run_cli("ask", "--wav", str(question), "--out", str(tmp_path / "a.wav"), "--manual",
                          "--url", server.url, env=cli_env())
    assert speak_run.returncode == 0, speak_run.stderr
    assert "first audio after" in speak_run.stdout and read_wav(tmp_path / "s.wav")[2]
    assert ask_run.returncode == 0, ask_run.stderr
    assert "you: What is the weather like?" in ask_run.stdout
    assert "assistant: It is sunny and warm today." in ask_run.stdout


def test_cli_never_prints_the_key_even_at_debug(question: Path, tmp_path: Path) -> None:
    env = cli_env(DASHSCOPE_API_KEY=CANARY)
    runs = []
    for script in (Script(), Script(http_status=401), Script(drop_after_deltas=1)):
        with ScriptedServer(script).in_thread() as server:
            runs.append(run_cli("ask", "-vv", "--wav", str(question), "--out", str(tmp_path / "a.wav"),
                                "--url", server.url, env=env))
            assert server.connections == [] or server.connections[0].authorization == f"Bearer {CANARY}"
    assert [r.returncode for r in runs] == [0, 4, 3]
    assert "DEBUG" in runs[0].stderr  # -vv really logged at debug level
    for r in runs:
        assert CANARY not in r.stdout and CANARY not in r.stderr


@pytest.mark.offline
def test_speak_without_a_key_falls_back_to_the_offline_server_and_stops_it(tmp_path: Path) -> None:
    psutil = pytest.importorskip("psutil")
    marker = f"offline-fallback-{os.getpid()}-{time.time_ns()}"
    out = tmp_path / "offline.wav"
    run = subprocess.run(
        [sys.executable, "-m", "qwenvoice", "speak", "Hello from the offline server.", "--out", str(out)],
        cwd=ROOT, env=cli_env(QWENVOICE_TEST_MARKER=marker), capture_output=True, text=True, timeout=240,
    )
    assert run.returncode == 0, run.stderr
    assert "using the offline server" in run.stderr
    assert "free (offline)" in run.stdout and "$" not in run.stdout  # the local server costs nothing
    rate, channels, frames = read_wav(out)
    assert (rate, channels) == (24000, 1) and len(frames) > 24000  # more than half a second of speech
    samples = np.frombuffer(frames, dtype="<i2").astype(np.float64)
    assert np.sqrt(np.mean(samples**2)) > 100  # not silence
    # The child server was stopped: no process carrying our marker is left.
    leftovers = []
    for proc in psutil.process_iter(["pid"]):
        try:
            if proc.environ().get("QWENVOICE_TEST_MARKER") == marker:
                leftovers.append(proc.pid)
        except (psutil.AccessDenied, psutil.NoSuchProcess, psutil.ZombieProcess):
            continue
    assert leftovers == []


def test_ask_clean_close_before_the_reply_is_not_success(
    question: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # e.g. an unknown model: session.created, then the server hangs up politely.
    code, _, err, server = ask(Script(close_after_created=(1000, "bye")), question, tmp_path, capsys)
    assert code == 3
    assert "connection lost" in err and "bye" in err
    assert server.handshakes == 1


def test_speak_clean_close_before_session_finished_is_not_success(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err, _server = speak(Script(close_after_created=(1000, "unknown model")), tmp_path, capsys)
    assert code == 3 and "unknown model" in err


def test_an_audio_device_error_is_a_clear_message_not_a_traceback(
    question: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    hook = types.ModuleType("qwenvoice.commands.terminal_audio")

    def open_player(rate: int, device: str | None) -> RecordingSink:
        raise RuntimeError(f"no output device named {device!r}")

    hook.open_player = open_player  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "qwenvoice.commands.terminal_audio", hook)
    code, _, err, server = ask(Script(), question, tmp_path, capsys, "--play", "--output-device", "nowhere")
    assert code == 2 and "--play: no output device named 'nowhere'" in err and "Traceback" not in err
    assert server.handshakes == 0


def test_saved_settings_choose_the_endpoint_and_model_when_no_url_is_given(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from qwenvoice.settings.schema import AppSettings, ConnectionSettings
    from qwenvoice.settings.store import SettingsStore

    monkeypatch.setenv("DASHSCOPE_API_KEY", CANARY)
    with ScriptedServer(Script()).in_thread() as server:
        connection = ConnectionSettings(region="custom", custom_url=server.url,
                                        tts_model="qwen3-tts-flash-realtime-2025-11-27")
        SettingsStore().save(AppSettings(connection=connection))
        code = run_speak(build_parser().parse_args(["speak", "Hi there.", "--out", str(tmp_path / "s.wav")]))
        # --model still wins over the saved one.
        code2 = run_speak(build_parser().parse_args(
            ["speak", "Hi there.", "--out", str(tmp_path / "s.wav"), "--model", "qwen3-tts-instruct-flash-realtime"]))
    err = capsys.readouterr().err
    assert (code, code2) == (0, 0), err
    assert "model=qwen3-tts-flash-realtime-2025-11-27" in server.connections[0].path
    assert "model=qwen3-tts-instruct-flash-realtime" in server.connections[1].path
    assert server.connections[0].authorization == f"Bearer {CANARY}"
    assert CANARY not in err


# ------------------------------------------------------------------------------------------------ no Qt

_WITHOUT_QT = """
import importlib.abc, sys

class NoQt(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("PySide6", "qasync", "shiboken6"):
            raise ImportError(f"{name} is not importable here")
        return None

sys.meta_path.insert(0, NoQt())
from qwenvoice.cli import main
code = main(sys.argv[1:])
loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("PySide6", "qasync") or m.startswith("qwenvoice.app"))
print("loaded:", loaded)
raise SystemExit(code)
"""


def test_ask_and_speak_run_with_pyside6_not_importable(question: Path, tmp_path: Path) -> None:
    import os
    import subprocess

    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2]), "QWENVOICE_ASK_PACE": "0.1"}
    with ScriptedServer(Script(reply_text="Fine, thanks.", reply_seconds=0.3)).in_thread() as server:
        for argv in (["ask", "--wav", str(question), "--out", str(tmp_path / "reply.wav"), "--url", server.url],
                     ["speak", "Hello there.", "--out", str(tmp_path / "speech.wav"), "--url", server.url]):
            done = subprocess.run([sys.executable, "-c", _WITHOUT_QT, *argv], capture_output=True, text=True,
                                  timeout=120, env=env)
            assert done.returncode == 0, done.stderr
            assert "loaded: []" in done.stdout, done.stdout
    assert "assistant: Fine, thanks." in done.stdout or (tmp_path / "reply.wav").stat().st_size > 44
    assert (tmp_path / "speech.wav").stat().st_size > 44
