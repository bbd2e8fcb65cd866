#!/usr/bin/env bash
# Builds the desktop app for this machine with PyInstaller (packaging/qwenvoice.spec):
#   dist/qwenvoice/                                   the one-folder app (run dist/qwenvoice/qwenvoice)
#   dist/qwenvoice-<version>-linux-<arch>.tar.gz      on Linux: that folder as an AppDir-style tarball
# Prints the build time and the sizes. Needs the venv from packaging/bootstrap.sh; installs the
# `package` extra (PyInstaller) into it when missing.
#   --no-tarball   skip the tarball (the smoke test does not need it)
set -euo pipefail
cd "$(dirname "$0")/.."
MAKE_TARBALL=1
for arg in "$@"; do
  case "$arg" in
    --no-tarball) MAKE_TARBALL=0 ;;
    *) echo "usage: $0 [--no-tarball]" >&2; exit 2 ;;
  esac
done

PY=.venv/bin/python
if [ ! -x "$PY" ]; then
  echo "build: no .venv; run ./packaging/bootstrap.sh first" >&2
  exit 1
fi
if ! "$PY" -c "import PyInstaller" 2>/dev/null; then
  echo "build: installing the 'package' extra (PyInstaller) into .venv"
  "$PY" -m pip install -q --disable-pip-version-check -e ".[package]"
fi
VERSION="$("$PY" -c 'import re,pathlib; print(re.search(r"__version__\s*=\s*\"([^\"]+)\"", pathlib.Path("qwenvoice/__init__.py").read_text()).group(1))')"

start=$(date +%s)
"$PY" -m PyInstaller --noconfirm --log-level WARN \
  --distpath dist --workpath build/pyinstaller packaging/qwenvoice.spec
built=$(date +%s)
APP=dist/qwenvoice

if [ "$(uname -s)" = Linux ]; then
  # AppDir-style extras at the top of the folder: AppRun, the .desktop file and icon, install script.
  install -m 755 packaging/linux/AppRun packaging/linux/install-desktop-entry.sh "$APP/"
  install -m 644 packaging/linux/README.txt LICENSE "$APP/"
  "$PY" - "$APP" <<'EOF'
import shutil, sys
from pathlib import Path
from qwenvoice.desktop_entry import find_app_icons, find_desktop_template, render_desktop_entry
app = Path(sys.argv[1]); resources = Path("resources")
# AppImage convention: Exec names the program AppRun starts; no TryExec (it is not on PATH).
text = render_desktop_entry(["qwenvoice"], find_desktop_template(resources))
(app / "qwenvoice.desktop").write_text("".join(l for l in text.splitlines(True) if not l.startswith("TryExec=")))
pngs, svg = find_app_icons(resources)
if pngs:
    best = pngs[max(s for s in pngs if s <= 256) if any(s <= 256 for s in pngs) else max(pngs)]
    shutil.copyfile(best, app / "qwenvoice.png")
    shutil.copyfile(best, app / ".DirIcon")
else:
    print("build: warning: no app icon PNGs in resources/", file=sys.stderr)
EOF
fi

echo "== built $APP in $((built - start)) s"
"$APP/qwenvoice" --version
echo "folder size: $(du -sh "$APP" | cut -f1) ($(find "$APP" -type f | wc -l) files)"

if [ "$(uname -s)" = Linux ] && [ "$MAKE_TARBALL" = 1 ]; then
  TARBALL="dist/qwenvoice-${VERSION}-linux-$(uname -m).tar.gz"
  tar_start=$(date +%s)
  GZIP_CMD="gzip -6"
  command -v pigz >/dev/null 2>&1 && GZIP_CMD="pigz -6"
  tar -C dist --owner=0 --group=0 --transform "s,^qwenvoice,qwenvoice-${VERSION},S" \
    -cf - qwenvoice | $GZIP_CMD > "$TARBALL"
  echo "== tarball $TARBALL: $(du -h "$TARBALL" | cut -f1) in $(($(date +%s) - tar_start)) s"
fi
echo "== total $(($(date +%s) - start)) s"
