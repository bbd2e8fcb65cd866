"""How long audio waits in the output device: a running callback stream vs one started on demand.

`python -m tests.benchmarks.peer_device --trials N --latency 0.04` opens a 48 kHz callback stream like
the Player's (10 ms blocks, the given latency) and prints one JSON line per trial with the monotonic
time at which a tone became available to the callback:

* `running`: the stream has been running (playing silence) for a while; the tone then waits behind
  the silence already queued in the device buffer;
* `started`: the stream was stopped; the tone is made available and `start()` called at once (the
  time `start()` took is reported too).

The benchmark finds each tone's onset on the speaker monitor.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

import numpy as np


def main(argv: list[str] | None = None) -> int:
    import sounddevice as sd

    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=5)
    parser.add_argument("--latency", type=float, default=0.04)
    args = parser.parse_args(argv)
    rate = 48000
    tone = (0.3 * np.sin(np.arange(rate // 2) * 2 * np.pi * 440 / rate)).astype(np.float32)
    state = {"pos": 0, "on": False}

    def callback(out: Any, frames: int, time_info: Any, status: Any) -> None:
        pos = state["pos"]
        if state["on"] and pos < tone.size:
            n = min(frames, tone.size - pos)
            out[:n, 0] = tone[pos : pos + n]
            out[n:] = 0
            state["pos"] = pos + n
        else:
            out.fill(0)

    stream = sd.OutputStream(samplerate=rate, channels=1, dtype="float32", blocksize=rate // 100,
                             latency=args.latency, callback=callback)
    print(json.dumps({"ready": True, "latency_ms": stream.latency * 1000}), flush=True)
    for trial in range(args.trials):
        stream.start()
        time.sleep(0.4)
        state.update(pos=0, on=False)
        at = time.monotonic()
        state["on"] = True
        time.sleep(0.8)
        print(json.dumps({"mode": "running", "trial": trial, "at": at}), flush=True)
        stream.abort()
        time.sleep(0.3)
        state.update(pos=0, on=True)
        at = time.monotonic()
        stream.start()
        took = time.monotonic() - at
        time.sleep(0.8)
        print(json.dumps({"mode": "started", "trial": trial, "at": at, "start_ms": took * 1000}), flush=True)
        stream.abort()
        time.sleep(0.3)
    stream.close()
    print(json.dumps({"done": True}), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
