#!/bin/sh
# Adds this folder's qwenvoice to your applications menu (a .desktop entry and hicolor icons in
# ${XDG_DATA_HOME:-~/.local/share}). Run it again after moving the folder; --uninstall removes it.
set -eu
here="$(cd "$(dirname "$0")" && pwd -P)"
case "${1:-}" in
  "") exec "$here/qwenvoice" --install-desktop-entry ;;
  --uninstall) exec "$here/qwenvoice" --uninstall-desktop-entry ;;
  *) echo "usage: $0 [--uninstall]" >&2; exit 2 ;;
esac
