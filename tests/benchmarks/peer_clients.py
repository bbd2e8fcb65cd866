"""The two clients the peer benchmark compares, each run in its own process.

`python -m tests.benchmarks.peer_clients ours|peer --url URL --pace PACE --turns N [--barge-in]`
`python -m tests.benchmarks.peer_clients ours --url URL --vad` (capture feeding the client until stdin
closes; the benchmark plays the user's speech into the microphone).

* `ours`: qwenvoice's RealtimeClient (protocol codec, one reader, one writer) feeding the audio
  engine's jitter-buffered Player, handled the way the app's controller does it.
* `peer`: the official SDK's `OmniRealtimeConversation` (PyPI `dashscope`) with a player built the way
  the official samples build theirs: the event callback hands base64 to a queue, a decode thread
  splits each decoded delta into 100 ms pieces for a play queue, a play thread writes each piece into
  a blocking 24 kHz int16 output stream opened with PortAudio's low default latency (what the
  samples' `pyaudio.open(..., output=True)` gets). No jitter buffer, no prebuffer.

Both print JSON lines on stdout: `{"ready": ...}` once connected, one `{"turn": ...}` per turn, then
`{"done": ...}`; after that they wait for stdin to close (so the parent can read their CPU time).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import queue
import sys
import threading
import time
from typing import Any

PEER_CHUNK_MS = 100


def emit(**record: Any) -> None:
    print(json.dumps(record), flush=True)


def wait_for_parent() -> None:
    with contextlib.suppress(Exception):
        sys.stdin.read()


# ----------------------------------------------------------------------------------------- ours
async def run_ours(args: argparse.Namespace) -> None:
    from qwenvoice.audio.engine import AudioEngine
    from qwenvoice.net.client import RealtimeClient
    from qwenvoice.protocol import events as ev
    from qwenvoice.protocol.config import OmniSessionConfig, TurnDetection

    model = f"bench-{args.pace}"
    turn_detection = TurnDetection(silence_duration_ms=500) if args.vad else None
    session = OmniSessionConfig(turn_detection=turn_detection).to_session(model)
    tuning: dict[str, Any] = {}
    if args.output_latency is not None:
        tuning["output_latency"] = args.output_latency
    if args.target_ms is not None:
        tuning["target_ms"] = args.target_ms
    if args.prototype:
        tuning["target_ms"] = PROTOTYPE_TARGET_MS
    engine = AudioEngine(monitor_interval=5.0, **tuning)
    if args.prototype:
        engine.player = make_idle_pausing(engine.player)
    if not await engine.start_playback():
        emit(error=f"no speaker: {[n.message for n in engine.notices]}")
        return
    client = RealtimeClient(args.url, None, model=model, session_update=lambda: ev.SessionUpdate(session=session))
    await client.start()
    started_at: dict[str, float] = {}

    def on_started(event: Any) -> None:
        started_at.setdefault(event.response_id, event.at)

    engine.player.on_item_started.append(on_started)
    captured: dict[str, float] = {}  # append event_id -> time the capture callback posted the block
    if args.vad:
        await start_capture_feed(engine, client, captured)
    emit(ready=True, output_latency_ms=engine.player.stream_latency_s * 1000,
         target_ms=engine.player.target_ms, prototype=args.prototype)

    first_received: dict[str, float] = {}

    async def pump() -> None:
        """Events -> player, like the controller: deltas pushed, end of audio marked."""
        async for item in client.incoming():
            if isinstance(item, ev.ResponseAudioDelta):
                first_received.setdefault(item.response_id, time.monotonic())
                engine.player.push(item.audio, item.response_id, item.item_id or item.response_id)
            elif isinstance(item, ev.ResponseAudioDone):
                engine.player.end_of_response(item.response_id)
            elif isinstance(item, ev.ResponseDone):
                done_queue.put_nowait(item.response_id)

    done_queue: asyncio.Queue[str] = asyncio.Queue()
    pump_task = asyncio.create_task(pump())
    if args.vad:
        await asyncio.to_thread(wait_for_parent)
        emit(done=True, captured=captured, capture=engine.capture.metrics().__repr__())
    else:
        await asyncio.sleep(0.5)  # settle, as an app does between start-up and the first reply
        for turn in range(args.turns):
            created = time.monotonic()
            client.send(ev.ResponseCreate())
            record: dict[str, Any] = {"turn": turn, "created": created}
            if args.barge_in:
                rid = await wait_started(started_at, created, 10.0)
                if rid is not None:
                    await asyncio.sleep(max(0.0, started_at[rid] + args.barge_after - time.monotonic()))
                    record["flush_at"] = time.monotonic()
                    engine.player.flush(rid)
                    client.send(ev.ResponseCancel())
                    record["response_id"] = rid
            rid = await asyncio.wait_for(done_queue.get(), 30.0)
            record["response_id"] = rid
            await engine.player.wait_idle(15.0)
            record["first_received"] = first_received.get(rid)
            record["first_rendered"] = started_at.get(rid)  # the callback that took its first sample
            emit(**record)
            await asyncio.sleep(args.gap)
        m = engine.player.metrics()
        emit(done=True, pauses=getattr(engine.player, "pauses", None),
             underruns=m.underruns, underrun_ms=m.underrun_ms, target_ms_end=m.target_ms,
             device_underflows=m.device_underflows, late_starts=m.late_starts,
             first_chunk_to_first_sample_ms=list(engine.player.buffer.first_chunk_to_first_sample_history)
             if engine.player.buffer else [])
        await asyncio.to_thread(wait_for_parent)
    pump_task.cancel()
    await client.close()
    await engine.aclose()


async def wait_started(started_at: dict[str, float], since: float, limit: float) -> str | None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        for rid, at in started_at.items():
            if at >= since:
                return rid
        await asyncio.sleep(0.005)
    return None


async def start_capture_feed(engine: Any, client: Any, captured: dict[str, float]) -> None:
    """Every captured block becomes an append whose event_id the server timestamps on receipt;
    the capture callback's own post time is kept per event_id (capture-to-wire = the difference)."""
    from qwenvoice.protocol import events as ev

    capture = engine.capture
    posted = {"at": 0.0, "n": 0}
    on_block = capture._on_block  # the callback posts to this attribute; wrap it to see post times

    def timed_on_block(block: Any, posted_at: float) -> None:
        posted["at"] = posted_at
        on_block(block, posted_at)

    capture._on_block = timed_on_block

    def send(pcm: Any) -> None:
        posted["n"] += 1
        event_id = f"event_cap_{posted['n']}"
        captured[event_id] = posted["at"]
        client.send(ev.InputAudioBufferAppend(audio=pcm.tobytes(), event_id=event_id))

    capture.subscribe(send)
    if not await engine.start_capture():
        emit(error=f"no microphone: {[n.message for n in engine.notices]}")


# ------------------------------------------------------------------- ours, with the proposed engine fix
# A prototype of the change the benchmark's notes propose for qwenvoice/audio, built here on top of the
# Player only to measure its effect. The output stream is stopped once the player has been idle for a
# moment (the device buffer then holds only silence) and started again when a new reply has reached the
# start depth - so the first sample does not queue behind a device buffer full of silence. A stream
# started that way swallows a device buffer of audio at once, so the start depth covers the device
# buffer too: 80 ms of cushion + 40 ms of device buffer - the ~12 ms the 24 -> 48 kHz resampler holds
# back = 108 ms of device-rate audio, i.e. 120 ms pushed (the same cushion as today's running stream).
PROTOTYPE_TARGET_MS = 108.0
IDLE_PAUSE_S = 0.15


def make_idle_pausing(player: Any) -> Any:
    from qwenvoice.audio.playback import Player

    class IdlePausingPlayer(Player):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.paused = False
            self.idle_since: float | None = None
            self.pauses = 0

        def _finished_callback(self) -> None:
            if not self.paused:  # a pause is intended, not a device error
                super()._finished_callback()

        def _on_tick(self) -> None:
            super()._on_tick()
            buffer, stream = self.buffer, self._stream
            if self.paused or buffer is None or stream is None or not self.running:
                return
            if buffer.is_idle() and buffer.buffered_frames == 0:
                now = time.monotonic()
                if self.idle_since is None:
                    self.idle_since = now
                elif now - self.idle_since > IDLE_PAUSE_S:  # the device buffer holds only silence by now
                    self.paused = True
                    self.running = False  # the watchdog leaves a paused stream alone
                    stream.abort()
                    self.pauses += 1
            else:
                self.idle_since = None

        def _resume(self, force: bool) -> None:
            buffer = self.buffer
            if not self.paused or self._stream is None or buffer is None:
                return
            if force or buffer.buffered_frames >= buffer.target_frames:
                self.idle_since = None
                self._stream.start()  # ~1-3 ms on PulseAudio; the first callback plays at once
                self.running = True
                self.paused = False

        def push(self, audio: Any, response_id: str, item_id: str) -> bool:
            queued = bool(super().push(audio, response_id, item_id))
            self._resume(force=False)
            return queued

        def end_of_response(self, response_id: str) -> None:
            super().end_of_response(response_id)
            self._resume(force=True)  # a reply shorter than the start depth

    fresh = IdlePausingPlayer(player.wanted_device, source_rate=player.source_rate, latency=player.latency,
                              block_ms=player.block_ms, target_ms=player.target_ms, quality=player.quality,
                              on_notice=player.on_notice)
    return fresh


# ----------------------------------------------------------------------------------------- peer
class SamplePlayer:
    """The official samples' player: base64 in, a decode thread, a play thread, blocking writes."""

    def __init__(self, rate: int = 24000, latency: str | float = "low") -> None:
        import sounddevice as sd

        self.rate = rate
        self.chunk_bytes = PEER_CHUNK_MS * rate * 2 // 1000
        self.stream = sd.RawOutputStream(samplerate=rate, channels=1, dtype="int16", latency=latency)
        self.stream.start()
        self.raw: queue.Queue[str] = queue.Queue()
        self.chunks: queue.Queue[bytes] = queue.Queue()
        self.first_write_at: float | None = None
        self.underflows = 0  # device underflows inside replies
        self.writing = False
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._decode, daemon=True),
                        threading.Thread(target=self._play, daemon=True)]
        for t in self.threads:
            t.start()

    def add_data(self, b64: str) -> None:
        self.raw.put(b64)

    def _decode(self) -> None:
        while not self.stop.is_set():
            try:
                b64 = self.raw.get(timeout=0.1)
            except queue.Empty:
                continue
            pcm = base64.b64decode(b64)
            for i in range(0, len(pcm), self.chunk_bytes):
                self.chunks.put(pcm[i : i + self.chunk_bytes])

    def _play(self) -> None:
        while not self.stop.is_set():
            try:
                chunk = self.chunks.get(timeout=0.1)
            except queue.Empty:
                continue
            self.writing = True
            first_of_reply = self.first_write_at is None
            if first_of_reply:
                self.first_write_at = time.monotonic()
            underflowed = self.stream.write(chunk)
            if underflowed and not first_of_reply:  # the first write follows the idle run-dry
                self.underflows += 1
            self.writing = False

    def cancel_playing(self) -> None:
        for q in (self.raw, self.chunks):
            with contextlib.suppress(queue.Empty):
                while True:
                    q.get_nowait()

    def idle(self) -> bool:
        return self.raw.empty() and self.chunks.empty() and not self.writing

    def close(self) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(1.0)
        self.stream.stop()
        self.stream.close()


def run_peer(args: argparse.Namespace) -> None:
    from dashscope.audio.qwen_omni import MultiModality, OmniRealtimeCallback, OmniRealtimeConversation

    latency: str | float = args.peer_latency
    with contextlib.suppress(ValueError):
        latency = float(args.peer_latency)
    player = SamplePlayer(latency=latency)
    done = threading.Event()
    state: dict[str, Any] = {"response_id": None}

    class Callback(OmniRealtimeCallback):
        def on_event(self, message: Any) -> None:
            kind = message.get("type")
            if kind == "response.audio.delta":
                if state.get("first_received") is None:
                    state["first_received"] = time.monotonic()
                player.add_data(message["delta"])
            elif kind == "response.created":
                state["response_id"] = message["response"]["id"]
            elif kind == "response.done":
                done.set()

    conversation = OmniRealtimeConversation(model=f"bench-{args.pace}", callback=Callback(), url=args.url,
                                            api_key="bench-token")
    conversation.connect()
    conversation.update_session(output_modalities=[MultiModality.AUDIO, MultiModality.TEXT], voice="Cherry",
                                enable_turn_detection=False, enable_input_audio_transcription=False)
    emit(ready=True, output_latency_ms=player.stream.latency * 1000, chunk_ms=PEER_CHUNK_MS)
    time.sleep(0.5)  # settle, as an app does between start-up and the first reply
    for turn in range(args.turns):
        done.clear()
        player.first_write_at = None
        state["first_received"] = None
        created = time.monotonic()
        conversation.create_response()
        record: dict[str, Any] = {"turn": turn, "created": created}
        if args.barge_in:
            deadline = time.monotonic() + 10
            while player.first_write_at is None and time.monotonic() < deadline:
                time.sleep(0.005)
            if player.first_write_at is not None:
                time.sleep(max(0.0, player.first_write_at + args.barge_after - time.monotonic()))
                record["flush_at"] = time.monotonic()
                player.cancel_playing()  # what the samples do on speech_started
                conversation.cancel_response()
        done.wait(30)
        record["response_id"] = state["response_id"]
        record["first_received"] = state["first_received"]
        record["first_rendered"] = player.first_write_at  # the play thread's first write
        deadline = time.monotonic() + 15
        while not player.idle() and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(player.stream.latency + 0.02)
        emit(**record)
        time.sleep(args.gap)
    emit(done=True, device_underflows=player.underflows)
    wait_for_parent()
    conversation.close()
    player.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("side", choices=("ours", "peer"))
    parser.add_argument("--url", required=True)
    parser.add_argument("--pace", default="cloud")
    parser.add_argument("--turns", type=int, default=20)
    parser.add_argument("--gap", type=float, default=0.25)
    parser.add_argument("--barge-in", action="store_true")
    parser.add_argument("--barge-after", type=float, default=0.5)
    parser.add_argument("--vad", action="store_true")
    parser.add_argument("--prototype", action="store_true", help="ours: with the proposed engine fix")
    parser.add_argument("--output-latency", type=float, default=None, help="ours: device latency (s)")
    parser.add_argument("--target-ms", type=float, default=None, help="ours: jitter-buffer start depth")
    parser.add_argument("--peer-latency", default="low", help="peer: PortAudio latency ('low', 'high', seconds)")
    args = parser.parse_args(argv)
    if args.side == "ours":
        asyncio.run(run_ours(args))
    else:
        run_peer(args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
