#!/usr/bin/env bash
# Smoke test of the frozen desktop app (dist/qwenvoice/qwenvoice), end to end, with real parts:
#   1. build it if needed (packaging/build.sh --no-tarball; --rebuild forces a fresh build)
#   2. its headless commands: --version, `serve` from inside the bundle, `speak` and `ask` against it
#      (so the bundled whisper, piper, silero VAD and espeak-ng data all load from the bundle)
#   3. the GUI under Xvfb with the virtual PulseAudio devices: wait for the window, find the offline
#      server the app started (a child running `<bundle>/qwenvoice serve`), speak against it,
#      take a screenshot, quit (Ctrl+Q, else the window's close button), and check that no
#      process is left behind
# Output (screenshots, WAVs, logs) goes to tests/artifacts/packaging/. Exit code 0 = every check passed.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT="$(pwd)"
APP_DIR="$ROOT/dist/qwenvoice"
APP="$APP_DIR/qwenvoice"
OUT="$ROOT/tests/artifacts/packaging"
REBUILD=0
for arg in "$@"; do
  case "$arg" in
    --rebuild) REBUILD=1 ;;
    *) echo "usage: $0 [--rebuild]" >&2; exit 2 ;;
  esac
done

failures=0
pass() { echo "PASS  $*"; }
fail() { echo "FAIL  $*"; failures=$((failures + 1)); }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

if [ "$REBUILD" = 1 ] || [ ! -x "$APP" ]; then
  ./packaging/build.sh --no-tarball || { echo "FAIL  build"; exit 1; }
fi
rm -rf "$OUT"
mkdir -p "$OUT"
WORK="$(mktemp -d /tmp/qwenvoice-smoke.XXXXXX)"

# A private display, so other windows named qwenvoice (tests on :99) never get in the way.
SMOKE_DISPLAY="${QWENVOICE_SMOKE_DISPLAY:-:97}"
XVFB_PID=""
if ! xdpyinfo -display "$SMOKE_DISPLAY" >/dev/null 2>&1; then
  rm -f "/tmp/.X11-unix/X${SMOKE_DISPLAY#:}" "/tmp/.X${SMOKE_DISPLAY#:}-lock"  # left by a dead server
  Xvfb "$SMOKE_DISPLAY" -screen 0 1280x800x24 -nolisten tcp >"$WORK/xvfb.log" 2>&1 </dev/null &
  XVFB_PID=$!
  for _ in $(seq 100); do xdpyinfo -display "$SMOKE_DISPLAY" >/dev/null 2>&1 && break; sleep 0.1; done
fi
export QWENVOICE_TEST_DISPLAY="$SMOKE_DISPLAY"
# shellcheck source=/dev/null
. .ci/devices.sh  # PulseAudio with speaker / micfeed / mic; DISPLAY
export DISPLAY="$SMOKE_DISPLAY" QT_QPA_PLATFORM=xcb
# Fresh per-user folders: the frozen app must create its settings and logs by itself.
export XDG_CONFIG_HOME="$WORK/config" XDG_STATE_HOME="$WORK/state" XDG_DATA_HOME="$WORK/data" \
  XDG_CACHE_HOME="$WORK/cache"
unset DASHSCOPE_API_KEY QWENVOICE_RESOURCES QWENVOICE_CONFIG_DIR PYTHONPATH PYTHONHOME

SERVER_PID=""
APP_PID=""
APP_SERVER=""
cleanup() {
  # Only processes this script started (and the server child of the app it started), by pid.
  for pid in $APP_PID $APP_SERVER $SERVER_PID; do kill "$pid" 2>/dev/null; done
  [ -n "$XVFB_PID" ] && kill "$XVFB_PID" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT

PY="$ROOT/.venv/bin/python"  # psutil (test extra) rather than ss/pgrep, which a minimal image may lack
free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
listening_port_of() {
  "$PY" -c 'import sys, psutil
try:
    ports = [c.laddr.port for c in psutil.Process(int(sys.argv[1])).net_connections("tcp") if c.status == "LISTEN"]
except psutil.Error:
    ports = []
print(ports[0] if ports else "")' "$1"
}
wav_seconds() { soxi -D "$1" 2>/dev/null || echo 0; }
wav_rms() { sox "$1" -n stat 2>&1 | awk '/RMS +amplitude/ {print $3}'; }
descendants() {
  "$PY" -c 'import sys, psutil
try:
    print(*(c.pid for c in psutil.Process(int(sys.argv[1])).children(recursive=True)), sep="\n")
except psutil.Error:
    pass' "$1"
}

speak_check() {  # speak_check LABEL URL TOKEN WAV
  local t0; t0=$(now)
  if DASHSCOPE_API_KEY="$3" timeout 120 "$APP" speak "Hello, this is the packaged qwenvoice speaking." \
      --out "$4" --url "$2" >"$WORK/$1-speak.log" 2>&1; then
    local secs rms; secs=$(wav_seconds "$4"); rms=$(wav_rms "$4")
    if awk -v s="$secs" -v r="${rms:-0}" 'BEGIN { exit !(s > 1.0 && r > 0.01) }'; then
      pass "$1: speak -> ${secs}s of speech (RMS $rms) in $(since "$t0") s"
    else
      fail "$1: speak wrote ${secs}s, RMS ${rms:-?}"; cat "$WORK/$1-speak.log"
    fi
  else
    fail "$1: speak exited non-zero"; tail -20 "$WORK/$1-speak.log"
  fi
}

echo "== frozen app: $APP ($(du -sh "$APP_DIR" | cut -f1))"
version_out="$("$APP" --version 2>&1)"
if [[ "$version_out" =~ ^qwenvoice\ [0-9] ]]; then pass "--version prints '$version_out'"; else fail "--version: $version_out"; fi

# --- headless: the bundled offline server, spoken to by the bundled client -------------------
PORT="$(free_port)"
t0=$(now)
"$APP" serve --port "$PORT" --token smoke-token >"$OUT/serve.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 240); do
  [ -n "$(listening_port_of "$SERVER_PID")" ] && break
  kill -0 "$SERVER_PID" 2>/dev/null || break
  sleep 0.25
done
if [ -n "$(listening_port_of "$SERVER_PID")" ]; then
  pass "serve: listening on 127.0.0.1:$PORT after $(since "$t0") s"
  URL="ws://127.0.0.1:$PORT/api-ws/v1/realtime"
  speak_check headless "$URL" smoke-token "$OUT/headless-speak.wav"
  espeak-ng -v en-us -w "$WORK/q22k.wav" "What is the weather like today?" &&
    sox "$WORK/q22k.wav" -r 16000 -c 1 "$WORK/question.wav" pad 0 1.5
  t0=$(now)
  if DASHSCOPE_API_KEY=smoke-token timeout 120 "$APP" ask --wav "$WORK/question.wav" --out "$OUT/headless-ask.wav" \
      --url "$URL" >"$OUT/ask.txt" 2>&1 && grep -qi "weather" "$OUT/ask.txt"; then
    pass "ask: the bundled ASR heard the question, reply $(wav_seconds "$OUT/headless-ask.wav")s, in $(since "$t0") s"
  else
    fail "ask: $(tr '\n' ' ' <"$OUT/ask.txt" | cut -c1-400)"
  fi
else
  fail "serve: no listening socket (exit: $(kill -0 "$SERVER_PID" 2>/dev/null && echo running || echo gone))"
  tail -30 "$OUT/serve.log"
fi
if [ -n "$SERVER_PID" ]; then
  kill -INT "$SERVER_PID" 2>/dev/null
  for _ in $(seq 40); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.25; done
  if kill -0 "$SERVER_PID" 2>/dev/null; then fail "serve: still running 10 s after SIGINT"; else pass "serve: stopped on SIGINT"; fi
  SERVER_PID=""
fi

# The keyring backends are found through entry points: their modules and metadata must be bundled.
bundled="$("$ROOT/.venv/bin/pyi-archive_viewer" -r -b "$APP" 2>/dev/null | sed "s/^ *//")"
missing_kr=""
for mod in keyring.backends.SecretService keyring.backends.kwallet keyring.backends.macOS \
    keyring.backends.Windows secretstorage jeepney; do
  grep -qx "$mod" <<<"$bundled" || missing_kr="$missing_kr $mod"
done
if [ -z "$missing_kr" ] && [ -f "$(echo "$APP_DIR"/_internal/keyring-*.dist-info/entry_points.txt)" ]; then
  pass "keyring: backends and entry points are in the bundle"
else
  fail "keyring: missing from the bundle:$missing_kr"
fi

# --- the window --------------------------------------------------------------------------------
# Saved settings must be read from the user config folder: a dark theme shows in the screenshot.
mkdir -p "$XDG_CONFIG_HOME/qwenvoice"
echo '{"schema_version": 1, "ui": {"theme": "dark", "turn_mode": "vad"}}' >"$XDG_CONFIG_HOME/qwenvoice/settings.json"
t0=$(now)
"$APP" --offline -v >"$OUT/gui.log" 2>&1 &
APP_PID=$!
WID="$(timeout 90 xdotool search --sync --onlyvisible --pid "$APP_PID" --name qwenvoice 2>/dev/null | head -1)"
if [ -n "$WID" ]; then
  pass "window '$(xdotool getwindowname "$WID")' visible after $(since "$t0") s"
else
  fail "no visible window named qwenvoice within 90 s"; tail -30 "$OUT/gui.log"
fi

# The offline server the app started from inside the bundle: a child process running `serve`.
APP_SERVER=""
for _ in $(seq 240); do
  for pid in $(descendants "$APP_PID"); do
    if tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "^$APP serve"; then APP_SERVER=$pid; fi
  done
  [ -n "$APP_SERVER" ] && [ -n "$(listening_port_of "$APP_SERVER")" ] && break
  kill -0 "$APP_PID" 2>/dev/null || break
  sleep 0.25
done
if [ -n "$APP_SERVER" ] && [ -n "$(listening_port_of "$APP_SERVER")" ]; then
  APP_PORT="$(listening_port_of "$APP_SERVER")"
  # The app hands its server the token in the environment (never on the command line, which every
  # local user can read); this user can read the child's environment.
  if tr '\0' '\n' <"/proc/$APP_SERVER/cmdline" | grep -q -- '--token'; then
    fail "the app's server has its token on the command line"
  fi
  APP_TOKEN="$(tr '\0' '\n' <"/proc/$APP_SERVER/environ" | sed -n 's/^QWENVOICE_SERVE_TOKEN=//p' | head -1)"
  pass "the app started its offline server from the bundle: '$(tr '\0' ' ' <"/proc/$APP_SERVER/cmdline" | sed -E 's/--token[ =][^ ]*/--token ***/')' on port $APP_PORT"
  speak_check app-server "ws://127.0.0.1:$APP_PORT/api-ws/v1/realtime" "${APP_TOKEN:-offline}" "$OUT/app-server-speak.wav"
else
  fail "the app has no child '$APP serve' with a listening socket"
  tail -30 "$OUT/gui.log"
fi

sleep 2  # let the window settle (status bar, first paint after the server came up)
if [ -n "$WID" ]; then
  import -window root "$OUT/screen.png" && pass "screenshot $OUT/screen.png"
  if import -window "$WID" "$OUT/window.png" 2>/dev/null; then
    brightness="$(identify -format '%[fx:mean]' "$OUT/window.png" 2>/dev/null)"
    if awk -v b="${brightness:-1}" 'BEGIN { exit !(b < 0.45) }'; then
      pass "settings: the saved dark theme is applied (mean brightness $brightness)"
    else
      fail "settings: the saved dark theme is not applied (mean brightness ${brightness:-?})"
    fi
  else
    fail "could not capture the window"
  fi
fi

# --- quit cleanly ------------------------------------------------------------------------------
tree="$APP_PID $(descendants "$APP_PID" | tr '\n' ' ')"
wait_app_exit() {  # wait_app_exit SECONDS -> 0 when the app has exited
  local i; for i in $(seq $(($1 * 4))); do kill -0 "$APP_PID" 2>/dev/null || return 0; sleep 0.25; done
  ! kill -0 "$APP_PID" 2>/dev/null
}
how=""
if [ -n "$WID" ]; then
  t0=$(now)
  xdotool windowfocus --sync "$WID" 2>/dev/null
  xdotool key --clearmodifiers ctrl+q
  if wait_app_exit 5; then
    how="Ctrl+Q"
  else
    echo "NOTE  Ctrl+Q did not quit the app; closing the window instead (WM_DELETE_WINDOW, the close button)"
    t0=$(now)
    "$ROOT/.venv/bin/python" tests/packaging/x11_close.py "$WID" && wait_app_exit 20 && how="the close button"
  fi
fi
if [ -n "$how" ]; then
  wait "$APP_PID"; rc=$?
  if [ "$rc" = 0 ]; then pass "quit via $how in $(since "$t0") s, exit code 0"; else fail "exit code $rc after $how"; fi
  APP_PID=""
else
  fail "the app did not quit (Ctrl+Q, then the close button)"
fi
sleep 1
left=""
for pid in $tree; do kill -0 "$pid" 2>/dev/null && left="$left $pid($(tr '\0' ' ' <"/proc/$pid/cmdline" | cut -c1-60))"; done
if [ -z "$left" ]; then pass "no process left behind (${tree// /,})"; APP_SERVER=""; else fail "left behind:$left"; fi

logs="$(find "$XDG_STATE_HOME/qwenvoice" -name '*.log' 2>/dev/null | head -3)"
if [ -n "$logs" ]; then
  pass "logs in the user log folder: ${logs//$WORK/\$TMP}"
  cp $logs "$OUT/" 2>/dev/null
else
  fail "no log file under \$XDG_STATE_HOME/qwenvoice"
fi
if grep -rqs "smoke-token" "$OUT"/*.log "$XDG_STATE_HOME" 2>/dev/null; then fail "a token reached a log"; fi

echo "== $failures check(s) failed; artifacts in $OUT"
[ "$failures" = 0 ]
