#!/usr/bin/env bash
# Sets up everything qwenvoice needs on a fresh Debian/Ubuntu machine:
# system packages (PortAudio, espeak-ng, and for tests PulseAudio + Xvfb), a venv in .venv,
# and the package with the extras named in $QWENVOICE_EXTRAS (default: offline).
set -euo pipefail
cd "$(dirname "$0")/.."
EXTRAS="${QWENVOICE_EXTRAS:-offline}"
WITH_TEST_SYSTEM=0
case ",$EXTRAS," in *,test,*) WITH_TEST_SYSTEM=1 ;; esac

SUDO=""
if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi

if command -v apt-get >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  APT="$SUDO apt-get -o DPkg::Lock::Timeout=600 -qq"
  PKGS="libportaudio2 libspeexdsp1 espeak-ng libespeak-ng1 libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 \
    libxcb-image0 libxcb-randr0 libxcb-render-util0 libxcb-shape0 libxcb-xkb1 libxkbcommon-x11-0 \
    libegl1 libgl1 libfontconfig1 libdbus-1-3 fonts-dejavu-core fonts-wqy-microhei"
  if [ "$WITH_TEST_SYSTEM" = 1 ]; then
    PKGS="$PKGS xvfb xauth x11-utils imagemagick xdotool pulseaudio pulseaudio-utils \
      libasound2-plugins alsa-utils sox"
  fi
  missing=""
  for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
  done
  if [ -n "$missing" ]; then
    echo "bootstrap: installing system packages:$missing"
    $APT update
    # shellcheck disable=SC2086
    $APT install -y --no-install-recommends $missing
  fi
else
  echo "bootstrap: no apt-get; install PortAudio and espeak-ng with your package manager" >&2
fi

PY="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip
.venv/bin/python -m pip install -q --disable-pip-version-check -e ".[${EXTRAS}]"
