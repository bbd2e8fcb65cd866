"""A server the app started stops by itself when the app dies without stopping it (SIGKILL, crash)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import psutil

LAUNCHER = textwrap.dedent(
    """
    import os, subprocess, sys, time
    env = dict(os.environ, QWENVOICE_EXIT_WITH_PARENT=sys.argv[1])
    server = subprocess.Popen([sys.executable, "-m", "qwenvoice", "serve", "--port", "0"], env=env,
                              stdout=subprocess.PIPE, start_new_session=True)
    line = server.stdout.readline().decode()
    print(server.pid, line.strip(), flush=True)
    time.sleep(600)
    """
)


def _start(exit_with_parent: str) -> tuple[subprocess.Popen[str], int]:
    launcher = subprocess.Popen([sys.executable, "-c", LAUNCHER, exit_with_parent], stdout=subprocess.PIPE, text=True)
    assert launcher.stdout is not None
    first = launcher.stdout.readline().split()
    assert len(first) > 1 and "ready" in first, first
    return launcher, int(first[0])


def _gone_within(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.2)
    return False


def test_server_stops_when_the_app_that_started_it_is_killed():
    launcher, server_pid = _start("1")
    try:
        os.kill(launcher.pid, signal.SIGKILL)
        launcher.wait()
        assert _gone_within(server_pid, 30), "the orphaned server kept running"
    finally:
        if psutil.pid_exists(server_pid):
            os.kill(server_pid, signal.SIGKILL)


def test_a_server_started_by_hand_keeps_running_without_its_parent():
    launcher, server_pid = _start("0")
    try:
        os.kill(launcher.pid, signal.SIGKILL)
        launcher.wait()
        assert not _gone_within(server_pid, 3), "a hand-started server must not stop when its shell goes"
    finally:
        if psutil.pid_exists(server_pid):
            os.kill(server_pid, signal.SIGTERM)
            _gone_within(server_pid, 15)
            if psutil.pid_exists(server_pid):
                os.kill(server_pid, signal.SIGKILL)
