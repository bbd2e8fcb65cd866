"""Child process for the "no sound devices at all" test: PortAudio must see no device from its first
initialisation, which only a fresh process can arrange (the parent points PULSE_SERVER at nothing).

Runs the real controller with audio on against the scripted server, types one message, idles a few
seconds while the engine waits for a device, and prints one JSON line: the notices, the reply, the
connection state, which devices were opened, and the CPU used while waiting.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path


async def scenario(idle_s: float) -> dict[str, object]:
    import psutil

    from qwenvoice.app.controller import Controller, RunOptions
    from qwenvoice.net.client import ConnectOptions
    from qwenvoice.session import status as st
    from tests.support.scripted_server import Script, ScriptedServer

    token = "no-devices-token-1234"
    os.environ["DASHSCOPE_API_KEY"] = token
    notices: list[list[str]] = []
    result: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as tmp:
        async with ScriptedServer(Script(reply_text="I can still hear your typing."), token=token) as server:
            c = Controller(RunOptions(url=server.url, mode="vad", audio=True, data_root=Path(tmp) / "data",
                                      config_dir=Path(tmp) / "config",
                                      connect_options=ConnectOptions(renew_after=None)))
            c.notice.connect(lambda level, text, action: notices.append([level, text, action]))
            loop = asyncio.get_running_loop()

            async def until(predicate: object, within: float) -> bool:
                deadline = loop.time() + within
                while not predicate():  # type: ignore[operator]
                    if loop.time() > deadline:
                        return False
                    await asyncio.sleep(0.02)
                return True

            started = time.monotonic()
            await c.start()
            result["started_in_s"] = round(time.monotonic() - started, 2)
            result["ready"] = await until(lambda: c.connection.state == st.READY, 15)
            c.send_text("can you hear me?")
            await until(lambda: len(c.conversation.turns) >= 2 and c.conversation.turns[-1].final, 15)
            result["reply"] = c.conversation.turns[-1].text if c.conversation.turns else ""
            proc = psutil.Process()
            cpu0 = sum(proc.cpu_times()[:2])
            await asyncio.sleep(idle_s)  # the engine keeps watching for a device meanwhile
            result["idle_cpu_percent"] = round((sum(proc.cpu_times()[:2]) - cpu0) / idle_s * 100, 1)
            audio = c.audio
            result["capture_running"] = bool(audio and audio.capture.running)
            result["playback_running"] = bool(audio and audio.player.running)
            result["state"] = c.connection.state
            c.send_text("and now?")
            result["second_reply"] = await until(lambda: len(c.conversation.turns) >= 4
                                                 and c.conversation.turns[-1].final, 15)
            t = time.monotonic()
            await c.shutdown()
            result["shutdown_s"] = round(time.monotonic() - t, 2)
    result["notices"] = notices
    return result


def main() -> None:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import qasync
    from PySide6.QtWidgets import QApplication

    idle_s = float(sys.argv[1]) if len(sys.argv) > 1 else 3.0
    app = QApplication.instance() or QApplication([])
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    with loop:
        result = loop.run_until_complete(scenario(idle_s))
    print("RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
