# Sourced: starts (or reuses) Xvfb on :99 and a user-mode PulseAudio with virtual devices,
# and exports DISPLAY, XDG_RUNTIME_DIR and the Qt variables for the tests.
_here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export DISPLAY="${QWENVOICE_TEST_DISPLAY:-:99}"
if command -v Xvfb >/dev/null 2>&1 && ! [ -e "/tmp/.X11-unix/X${DISPLAY#:}" ]; then
  setsid Xvfb "$DISPLAY" -screen 0 1280x800x24 -nolisten tcp >/tmp/qwenvoice-xvfb.log 2>&1 </dev/null &
  for _ in $(seq 50); do [ -e "/tmp/.X11-unix/X${DISPLAY#:}" ] && break; sleep 0.1; done
fi
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp/xdg-runtime-$(id -u)}"
mkdir -p -m 700 "$XDG_RUNTIME_DIR"
if command -v pulseaudio >/dev/null 2>&1; then
  if ! pactl list short sinks 2>/dev/null | grep -q micfeed; then
    pulseaudio --kill 2>/dev/null || true
    sleep 0.2
    pulseaudio --daemonize=yes --exit-idle-time=-1 --disallow-exit=yes -n \
      --file="$_here/virtual-audio.pa" --log-target=file:/tmp/qwenvoice-pulseaudio.log \
      || { echo "pulseaudio failed:"; cat /tmp/qwenvoice-pulseaudio.log; }
    for _ in $(seq 50); do pactl info >/dev/null 2>&1 && break; sleep 0.1; done
    # Null sinks render in 2 s blocks unless a low-latency reader holds each monitor open.
    setsid parec --latency-msec=10 -d speaker.monitor --raw >/dev/null 2>&1 </dev/null &
    setsid parec --latency-msec=10 -d micfeed.monitor --raw >/dev/null 2>&1 </dev/null &
    sleep 2.1
  fi
  pactl info 2>/dev/null | grep -E "Default Sink|Default Source" || true
fi
export QT_QPA_PLATFORM="${QT_QPA_PLATFORM:-offscreen}" QT_API=pyside6 PYTEST_QT_API=pyside6
export HF_HUB_OFFLINE=1
