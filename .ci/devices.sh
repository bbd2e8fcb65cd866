# Sourced: starts (or reuses) Xvfb on :99 and a user-mode PulseAudio with virtual devices,
# and exports DISPLAY, XDG_RUNTIME_DIR and the Qt variables for the tests.
_here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export DISPLAY="${QWENVOICE_TEST_DISPLAY:-:99}"
_x_answers() { xdpyinfo -display "$DISPLAY" >/dev/null 2>&1; }
if command -v Xvfb >/dev/null 2>&1 && ! _x_answers; then
  # A socket and lock left by an X server that is gone (a machine image taken while one ran) would
  # make Xvfb refuse the number and the tests believe a display exists: clear them first.
  rm -f "/tmp/.X11-unix/X${DISPLAY#:}" "/tmp/.X${DISPLAY#:}-lock"
  setsid Xvfb "$DISPLAY" -screen 0 1280x800x24 -nolisten tcp >/tmp/qwenvoice-xvfb.log 2>&1 </dev/null &
  for _ in $(seq 100); do _x_answers && break; sleep 0.1; done
  _x_answers || { echo "Xvfb did not start on $DISPLAY:"; cat /tmp/qwenvoice-xvfb.log; }
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
