"""Soak: a long conversation with turns, barge-ins, dropped connections and session renewals, driven
through the real controller against the scripted server (in a child process, so only the app is
measured). Memory, CPU, threads, file descriptors and asyncio tasks are sampled as it goes; at the
end the saved conversation is compared with the one in memory.

Run the long one (2 hours of session time, about 10-15 minutes of wall time on 2 cores)::

    .venv/bin/python -m tests.reliability.soak --hours 2 [--json soak.json]

How time is accelerated, honestly: each turn stands for ``--turn-seconds`` (10 s) of conversation —
about 1.1 s of user speech, a 3 s spoken reply, pauses. Turns run back to back as fast as the loopback
server answers (speech is fed as PCM blocks, no sound devices: playback would run in real time).
The session renewal that the service's 120-minute cap forces once per two hours is made to happen
every ``--renew-every`` seconds of wall time instead (many more hand-overs than real use), and the
server drops the connection mid-reply every ``--drop-every`` replies. A reconnect is a new session
whose clock starts again, so the renewal interval must be shorter than the time between two drops
(25 turns take about 7 s here): at 20 s no renewal ever came due, which the verdict now catches.

``tests/reliability/test_soak.py`` runs a short version (10 minutes of session time) in the normal
test run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import psutil

from qwenvoice.audio.wav import read_wav
from qwenvoice.net.client import ConnectOptions
from qwenvoice.session import status as st
from qwenvoice.session.conversation import load_turns
from tests.support.scripted_server import speech_like_pcm

TOKEN = "soak-token-123456"
REPLY_TEXT = "Here is a reply of a dozen words that streams while it is spoken."


@dataclass
class Sample:
    turn: int
    wall_s: float
    session_s: float  # simulated conversation time
    rss_mb: float
    cpu_s: float  # user + system CPU of this process so far
    threads: int
    fds: int
    tasks: int


@dataclass
class SoakReport:
    turns: int = 0
    spoken_turns: int = 0
    typed_turns: int = 0
    barge_ins: int = 0
    reconnects: int = 0
    renewals: int = 0
    wall_s: float = 0.0
    session_s: float = 0.0
    samples: list[Sample] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    leaked_tasks: list[str] = field(default_factory=list)
    leaked_threads: list[str] = field(default_factory=list)
    fds_before: int = 0
    fds_after: int = 0
    saved_turns: int = 0
    saved_events: int = 0
    events_in: int = 0
    user_audio_s: float = 0.0
    assistant_audio_s: float = 0.0

    # ----- summaries

    def _window(self, first: bool) -> list[Sample]:
        n = max(1, len(self.samples) // 5)
        # the first fifth is warm-up (imports, first allocations); compare the second fifth with the last
        return self.samples[n : 2 * n] if first else self.samples[-n:]

    def rss_growth_mb(self) -> float:
        early, late = self._window(True), self._window(False)
        return statistics.median(s.rss_mb for s in late) - statistics.median(s.rss_mb for s in early)

    def cpu_per_turn_ms(self, first: bool) -> float:
        window = self._window(first)
        if len(window) < 2 or window[-1].turn == window[0].turn:
            return 0.0
        return (window[-1].cpu_s - window[0].cpu_s) / (window[-1].turn - window[0].turn) * 1000

    def cpu_percent(self) -> float:
        if len(self.samples) < 2 or self.wall_s <= 0:
            return 0.0
        first, last = self.samples[0], self.samples[-1]
        return (last.cpu_s - first.cpu_s) / max(1e-9, last.wall_s - first.wall_s) * 100

    def summary(self) -> str:
        first, last = self.samples[0], self.samples[-1]
        return "\n".join([
            f"soak: {self.turns} turns ({self.spoken_turns} spoken, {self.typed_turns} typed, {self.barge_ins} "
            f"barge-ins), {self.reconnects} reconnects, {self.renewals} renewals",
            f"  session time {self.session_s / 3600:.2f} h simulated in {self.wall_s:.0f} s of wall time",
            f"  RSS {first.rss_mb:.1f} -> {last.rss_mb:.1f} MB (growth after warm-up {self.rss_growth_mb():+.1f} MB)",
            f"  CPU {self.cpu_percent():.0f} % of one core on average; per turn {self.cpu_per_turn_ms(True):.1f} ms "
            f"early, {self.cpu_per_turn_ms(False):.1f} ms late",
            f"  threads {first.threads} -> {last.threads}; fds {self.fds_before} before, {self.fds_after} after "
            f"shutdown; asyncio tasks {first.tasks} -> {last.tasks} (leaked after shutdown: "
            f"{len(self.leaked_tasks)}), threads leaked: {len(self.leaked_threads)}",
            f"  saved: {self.saved_turns} turns, {self.saved_events} events (received {self.events_in}); "
            f"audio {self.user_audio_s / 60:.1f} min user, {self.assistant_audio_s / 60:.1f} min assistant",
            "  problems: " + ("; ".join(self.problems) if self.problems else "none"),
        ])


def start_server(script: dict[str, Any]) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.support.scripted_server", "--script", json.dumps(script), "--token", TOKEN],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parents[2],
    )
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    if not line.startswith("PORT "):
        proc.kill()
        raise RuntimeError(f"scripted server did not start: {line!r}")
    return proc, f"ws://127.0.0.1:{int(line.split()[1])}/api-ws/v1/realtime"


def stop_server(proc: subprocess.Popen[str]) -> None:
    with contextlib.suppress(Exception):
        assert proc.stdin is not None
        proc.stdin.close()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


async def _until(predicate: Any, within: float, what: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not predicate():
        if loop.time() > deadline:
            raise TimeoutError(what)
        await asyncio.sleep(0.01)


async def run_soak(hours: float, *, turn_seconds: float = 10.0, renew_every: float = 3.0, drop_every: int = 25,
                   data_root: Path | None = None, progress: bool = False) -> SoakReport:
    """Run the soak on the current (qasync) loop; returns the report (problems listed, not raised)."""
    from qwenvoice.app.controller import Controller, RunOptions

    report = SoakReport()
    proc = psutil.Process()
    gc.collect()
    tasks_before = {id(t) for t in asyncio.all_tasks()}
    threads_before = {t.ident for t in threading.enumerate()}
    report.fds_before = proc.num_fds()
    server, url = start_server({"reply_text": REPLY_TEXT, "reply_seconds": 3.0, "delta_ms": 100,
                                "max_session_seconds": 3600.0, "drop_every_responses": drop_every,
                                "slow_word": "slowly", "slow_delta_delay": 0.02, "record_audio": False,
                                "user_transcript_deltas": True})
    tmp = None if data_root is not None else tempfile.TemporaryDirectory(prefix="qwenvoice-soak-")
    root = data_root or Path(tmp.name)  # type: ignore[union-attr]
    old_key = os.environ.get("DASHSCOPE_API_KEY")
    os.environ["DASHSCOPE_API_KEY"] = TOKEN
    # The turns run back to back; the renewal takes a quiet moment (a pause) or, past a short grace, the
    # moment between two turns, as in a busy real conversation.
    connect = ConnectOptions(ping_interval=10.0, ping_timeout=10.0, renew_after=renew_every, renew_quiet=0.3,
                             renew_turn_grace=min(2.0, renew_every / 2))
    c = Controller(RunOptions(url=url, mode="vad", audio=False, data_root=root / "data",
                              config_dir=root / "config", connect_options=connect))
    c.load_settings()
    c.settings.omni.instructions = "Keep answers short."
    speech = speech_like_pcm(speech_s=0.6, tail_s=0.5)
    turns_total = max(1, round(hours * 3600 / turn_seconds))
    loop = asyncio.get_running_loop()
    started = loop.time()
    cpu0 = sum(proc.cpu_times()[:2])

    def sample(turn: int) -> None:
        report.samples.append(Sample(
            turn, loop.time() - started, turn * turn_seconds, proc.memory_info().rss / 2**20,
            sum(proc.cpu_times()[:2]) - cpu0, proc.num_threads(), proc.num_fds(), len(asyncio.all_tasks())))

    def reply_done(count: int) -> bool:
        turns = c.conversation.turns
        return len(turns) >= count and turns[-1].role == "assistant" and turns[-1].final

    def reply_started(count: int) -> bool:
        turns = c.conversation.turns
        return c.response_active and len(turns) >= count and len(turns[-1].text) > 10

    try:
        await c.start()
        await _until(lambda: c.connection.state == st.READY, 20, "connect")
        client = c.client
        sample(0)
        every = max(1, turns_total // 40)
        for turn in range(1, turns_total + 1):
            try:
                await _until(lambda: c.connection.state == st.READY and c.voice.ready, 30,
                             f"ready before turn {turn}")
            except TimeoutError as exc:
                report.problems.append(f"{exc} (state {c.connection.state}: {c.connection.detail})")
                break
            want = len(c.conversation.turns) + 2  # the user's turn and the reply
            try:
                if turn % 7 == 0:
                    c.send_text(f"tell me slowly about turn {turn}")
                    await _until(lambda w=want: reply_started(w) or reply_done(w), 15, "slow reply started")
                    if reply_done(want):  # a busy machine let the whole reply through first
                        report.typed_turns += 1
                    else:
                        c.stop()  # barge-in: the Stop button
                        report.barge_ins += 1
                        await _until(lambda w=want: reply_done(w) and c.conversation.turns[-1].interrupted, 10,
                                     "barge-in marked")
                elif turn % 4 == 0:
                    c.send_text(f"typed question {turn}")
                    report.typed_turns += 1
                    await _until(lambda w=want: reply_done(w), 15, f"typed turn {turn}")
                else:
                    for i in range(0, len(speech), 640):
                        c.feed_mic(speech[i : i + 640])
                    report.spoken_turns += 1
                    await _until(lambda w=want: reply_done(w), 15, f"spoken turn {turn}")
            except TimeoutError as exc:
                # A turn cut by a deliberate drop (or a renewal racing it) ends without its reply: the
                # next turn must still work, which the loop checks.
                if c.connection.state != st.READY or any(t.interrupted for t in c.conversation.turns[want - 2 :]):
                    continue
                recent = " ".join(f"{r.direction}:{r.type}" for r in c.eventlog.records()[-30:]
                                  if r.type != "input_audio_buffer.append")
                report.problems.append(f"turn {turn}: {exc} (state {c.connection.state}; recent: {recent})")
                if len(report.problems) > 10:
                    break
            report.turns = turn
            if turn % 5 == 0:
                await asyncio.sleep(0.4)  # the user pauses now and then: a quiet moment to renew the session
            if turn % every == 0 or turn == turns_total:
                sample(turn)
                if progress:
                    s = report.samples[-1]
                    print(f"  turn {turn}/{turns_total}: {s.wall_s:.0f} s, RSS {s.rss_mb:.1f} MB, "
                          f"threads {s.threads}, fds {s.fds}, tasks {s.tasks}", flush=True)
        stats = c.client.stats if c.client is not None else client.stats
        report.reconnects = stats.reconnects
        report.renewals = stats.renewals
        folder = c.conversation.folder
        in_memory = [(t.turn_id, t.role, t.text, t.interrupted) for t in c.conversation.turns]
        await c.shutdown()
        # Counted after the shutdown: closing ends the session with session.finish, and the server's
        # session.finished is received (and saved) then.
        report.events_in = c.eventlog.counts["in"]
        report.wall_s = loop.time() - started
        report.session_s = report.turns * turn_seconds
        # Nothing lost: the saved transcript is the one in memory, every received event is in the log.
        assert folder is not None
        saved = [(t.turn_id, t.role, t.text, t.interrupted) for t in load_turns(folder)]
        report.saved_turns = len(saved)
        if saved != in_memory:
            report.problems.append(f"saved transcript differs: {len(saved)} saved, {len(in_memory)} in memory")
        report.saved_events = (folder / "events.jsonl").read_text(encoding="utf-8").count("\n")
        if report.saved_events != report.events_in:
            report.problems.append(f"{report.events_in} events received, {report.saved_events} saved")
        for name in ("user.wav", "assistant.wav"):
            saved = read_wav(folder / name)
            seconds = len(saved.samples()) / saved.rate
            if name == "user.wav":
                report.user_audio_s = seconds
            else:
                report.assistant_audio_s = seconds
    finally:
        with contextlib.suppress(Exception):
            await c.shutdown()
        stop_server(server)
        if old_key is None:
            os.environ.pop("DASHSCOPE_API_KEY", None)
        else:
            os.environ["DASHSCOPE_API_KEY"] = old_key
    await asyncio.sleep(0.2)
    gc.collect()
    current = asyncio.current_task()
    report.leaked_tasks = [t.get_name() for t in asyncio.all_tasks()
                           if id(t) not in tasks_before and t is not current and not t.done()]
    # Idle workers of the loop's default executor are a bounded pool, not a leak.
    report.leaked_threads = [t.name for t in threading.enumerate() if t.ident not in threads_before and t.is_alive()
                             and not t.name.startswith(("ThreadPoolExecutor", "asyncio_"))]
    report.fds_after = proc.num_fds()
    if tmp is not None:
        tmp.cleanup()
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hours", type=float, default=2.0, help="simulated session time (default 2)")
    parser.add_argument("--turn-seconds", type=float, default=10.0)
    parser.add_argument("--renew-every", type=float, default=3.0, help="wall seconds between session renewals")
    parser.add_argument("--drop-every", type=int, default=25, help="drop the connection mid-reply every N replies")
    parser.add_argument("--json", type=Path, default=None, help="write the samples and results here")
    args = parser.parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import qasync
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    with loop:
        report = loop.run_until_complete(run_soak(args.hours, turn_seconds=args.turn_seconds,
                                                  renew_every=args.renew_every, drop_every=args.drop_every,
                                                  progress=True))
    print(report.summary())
    if args.json is not None:
        args.json.write_text(json.dumps(asdict(report), indent=1))
    failed = verdict(report, long_run=True)
    for line in failed:
        print("FAIL:", line)
    return 1 if failed else 0


def verdict(report: SoakReport, long_run: bool) -> list[str]:
    """What makes a soak fail (the short run in the test suite allows more warm-up noise)."""
    failed = list(report.problems)
    rss_limit = 20.0 if long_run else 25.0
    if report.rss_growth_mb() > rss_limit:
        failed.append(f"RSS grew {report.rss_growth_mb():.1f} MB after warm-up (limit {rss_limit})")
    early, late = report.cpu_per_turn_ms(True), report.cpu_per_turn_ms(False)
    if early > 0 and late > early * 1.6 + 5:
        failed.append(f"CPU per turn grew from {early:.1f} to {late:.1f} ms")
    if report.leaked_tasks:
        failed.append(f"asyncio tasks left running: {report.leaked_tasks}")
    if report.leaked_threads:
        failed.append(f"threads left running: {report.leaked_threads}")
    if report.fds_after > report.fds_before + 2:
        failed.append(f"file descriptors: {report.fds_before} before, {report.fds_after} after")
    if report.turns >= 50 and report.renewals == 0:
        failed.append(f"no session renewal in {report.turns} turns (a real session would meet the cap mid-turn)")
    if report.saved_turns < report.turns * 2:
        failed.append(f"only {report.saved_turns} saved turns for {report.turns} exchanges")
    return failed


if __name__ == "__main__":
    raise SystemExit(main())
