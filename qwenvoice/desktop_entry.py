"""Put qwenvoice into the Linux applications menu: a ``.desktop`` entry plus hicolor icons.

Files go to the per-user XDG data folder (``$XDG_DATA_HOME``, else ``~/.local/share``):
``applications/qwenvoice.desktop`` and ``icons/hicolor/<N>x<N>/apps/qwenvoice.png`` (plus
``scalable/apps/qwenvoice.svg``). ``Exec`` points at the program that is running now (the frozen
bundle's executable, or the venv's ``qwenvoice`` script), so the menu starts the same build that
installed it. Installing twice changes nothing; uninstalling removes exactly these files.

Run as ``qwenvoice --install-desktop-entry`` (or ``python -m qwenvoice.desktop_entry install|uninstall``).
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from qwenvoice import runtime

APP_ID = "qwenvoice"
DESKTOP_FILE_NAME = f"{APP_ID}.desktop"
# Sizes the freedesktop icon theme spec lists for hicolor's fixed-size folders that menus look in.
HICOLOR_SIZES = (16, 22, 24, 32, 48, 64, 96, 128, 192, 256, 512)

# Used when resources/ has no .desktop file of its own; Exec/TryExec/Icon are always rewritten.
DEFAULT_DESKTOP_ENTRY = """[Desktop Entry]
Type=Application
Version=1.5
Name=qwenvoice
GenericName=Voice Assistant
Comment=Talk with Qwen realtime models; speak text with Qwen TTS
Exec=qwenvoice
Icon=qwenvoice
Terminal=false
Categories=AudioVideo;Audio;Utility;
Keywords=voice;assistant;speech;tts;qwen;
StartupNotify=true
StartupWMClass=qwenvoice
"""

# Characters that force an Exec argument into double quotes (Desktop Entry spec, "The Exec key").
_EXEC_RESERVED = set(" \t\n\"'\\><~|&;$*?#()`")


@dataclass(slots=True)
class InstallReport:
    """What an install or uninstall touched; ``changed`` is empty when nothing had to change."""

    desktop_file: Path
    icons: list[Path] = field(default_factory=list)
    changed: list[Path] = field(default_factory=list)
    removed: list[Path] = field(default_factory=list)


def data_home(environ: dict[str, str] | os._Environ[str] | None = None) -> Path:
    """``$XDG_DATA_HOME`` when it is an absolute path (the spec says to ignore relative ones)."""
    env = os.environ if environ is None else environ
    value = env.get("XDG_DATA_HOME", "")
    if value and Path(value).is_absolute():
        return Path(value)
    return Path(env.get("HOME") or str(Path.home())) / ".local" / "share"


def quote_exec_argument(arg: str) -> str:
    """Quote one argument for the Exec key, then escape it as a desktop-file string value."""
    quoted = arg
    if not arg or any(ch in _EXEC_RESERVED for ch in arg):
        inner = "".join("\\" + ch if ch in '"`$\\' else ch for ch in arg)
        quoted = f'"{inner}"'
    # Field codes start with %; a literal percent is written %%. Then string-level escaping of "\".
    return quoted.replace("%", "%%").replace("\\", "\\\\")


def exec_line(command: Sequence[str]) -> str:
    return " ".join(quote_exec_argument(a) for a in command)


def _escape_string_value(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace("\t", "\\t")


def render_desktop_entry(command: Sequence[str], template: str | None = None) -> str:
    """The .desktop text for ``command``: the template with Exec, TryExec and Icon set.

    Only the ``[Desktop Entry]`` group is rewritten; other groups (actions) keep their lines.
    """
    lines = (template or DEFAULT_DESKTOP_ENTRY).splitlines()
    managed = {
        "Exec": exec_line(command),
        "TryExec": _escape_string_value(command[0]),
        "Icon": APP_ID,
    }
    out: list[str] = []
    group = ""
    seen: set[str] = set()
    insert_at: int | None = None
    for line in lines:
        stripped = line.strip()
        if stripped.startswith("[") and stripped.endswith("]"):
            if group == "[Desktop Entry]":
                insert_at = len(out)
            group = stripped
            out.append(line)
            continue
        key = stripped.split("=", 1)[0].strip() if "=" in stripped else ""
        if group == "[Desktop Entry]" and key in managed:
            if key not in seen:
                out.append(f"{key}={managed[key]}")
                seen.add(key)
            continue
        out.append(line)
    if group == "[Desktop Entry]":
        insert_at = len(out)
    missing = [f"{k}={v}" for k, v in managed.items() if k not in seen]
    if insert_at is None:  # the template had no [Desktop Entry] group at all
        out = ["[Desktop Entry]", "Type=Application", f"Name={APP_ID}", *missing, *out]
    else:
        while insert_at > 0 and not out[insert_at - 1].strip():
            insert_at -= 1
        out[insert_at:insert_at] = missing
    return "\n".join(out).rstrip("\n") + "\n"


def png_size(path: Path) -> tuple[int, int] | None:
    """Width and height from a PNG's IHDR chunk, or None when the file is not a PNG."""
    with path.open("rb") as f:
        header = f.read(24)
    if len(header) < 24 or header[:8] != b"\x89PNG\r\n\x1a\n" or header[12:16] != b"IHDR":
        return None
    width, height = struct.unpack(">II", header[16:24])
    return width, height


def _icon_rank(path: Path) -> int:
    """0 for ``qwenvoice.*``/``qwenvoice-<size>.*``, 1 for a file in an ``apps`` folder, -1 otherwise."""
    stem = path.stem.lower()
    if stem == APP_ID or stem.startswith((f"{APP_ID}-", f"{APP_ID}_")):
        return 0
    if "apps" in (p.lower() for p in path.parent.parts):  # laid out as hicolor/<N>x<N>/apps/<name>.png
        return 1
    return -1


def find_app_icons(resources: Path) -> tuple[dict[int, Path], Path | None]:
    """The app icon's PNGs by square size, and its SVG, found under ``resources``.

    Only files named ``qwenvoice``/``qwenvoice-*`` (or inside an ``apps`` folder) count, so toolbar
    and status icons in the same folder are never installed as the application icon.
    """
    pngs: dict[int, tuple[int, Path]] = {}
    svg: tuple[int, Path] | None = None
    if not resources.is_dir():
        return {}, None
    for path in sorted(resources.rglob("*")):
        if not path.is_file():
            continue
        rank = _icon_rank(path)
        if rank < 0:
            continue
        suffix = path.suffix.lower()
        if suffix == ".png":
            size = png_size(path)
            if size is None or size[0] != size[1]:
                continue
            current = pngs.get(size[0])
            if current is None or rank < current[0]:
                pngs[size[0]] = (rank, path)
        elif suffix == ".svg" and (svg is None or rank < svg[0]):
            svg = (rank, path)
    return {size: p for size, (_, p) in sorted(pngs.items())}, (svg[1] if svg else None)


def find_desktop_template(resources: Path) -> str | None:
    if not resources.is_dir():
        return None
    preferred = sorted(resources.rglob(DESKTOP_FILE_NAME)) or sorted(resources.rglob("*.desktop"))
    return preferred[0].read_text(encoding="utf-8") if preferred else None


def _write_if_changed(path: Path, data: bytes, report: InstallReport) -> None:
    if path.is_file() and path.read_bytes() == data:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
    report.changed.append(path)


def _refresh_caches(base: Path) -> None:
    # Menus watch these folders by themselves. A cache that already exists must be rebuilt, though, or
    # it may hide the new files; one that does not exist is not created (a stale cache hides icons
    # that other programs install later).
    jobs = (
        (base / "applications" / "mimeinfo.cache", ("update-desktop-database", "-q", str(base / "applications"))),
        (base / "icons" / "hicolor" / "icon-theme.cache",
         ("gtk-update-icon-cache", "-q", "-t", "-f", str(base / "icons" / "hicolor"))),
    )
    for cache, (tool, *args) in jobs:
        exe = shutil.which(tool)
        if exe is None or not cache.is_file():
            continue
        try:
            subprocess.run([exe, *args], check=False, timeout=30, capture_output=True)
        except (OSError, subprocess.SubprocessError):
            pass


def install_desktop_entry(
    *,
    target: Path | None = None,
    command: Sequence[str] | None = None,
    resources: Path | None = None,
    refresh_caches: bool = True,
) -> InstallReport:
    """Install (or update) the menu entry and icons; idempotent."""
    base = target or data_home()
    cmd = list(command or runtime.launcher_command())
    res = resources or runtime.resource_path(".")
    report = InstallReport(desktop_file=base / "applications" / DESKTOP_FILE_NAME)

    text = render_desktop_entry(cmd, find_desktop_template(res))
    _write_if_changed(report.desktop_file, text.encode("utf-8"), report)

    pngs, svg = find_app_icons(res)
    hicolor = base / "icons" / "hicolor"
    for size, src in pngs.items():
        dest = hicolor / f"{size}x{size}" / "apps" / f"{APP_ID}.png"
        _write_if_changed(dest, src.read_bytes(), report)
        report.icons.append(dest)
    if svg is not None:
        dest = hicolor / "scalable" / "apps" / f"{APP_ID}.svg"
        _write_if_changed(dest, svg.read_bytes(), report)
        report.icons.append(dest)
    if report.changed and refresh_caches:
        _refresh_caches(base)
    return report


def uninstall_desktop_entry(*, target: Path | None = None, refresh_caches: bool = True) -> InstallReport:
    """Remove the menu entry and every hicolor icon named qwenvoice that install put there."""
    base = target or data_home()
    report = InstallReport(desktop_file=base / "applications" / DESKTOP_FILE_NAME)
    hicolor = base / "icons" / "hicolor"
    victims = [report.desktop_file]
    if hicolor.is_dir():
        victims += sorted(hicolor.glob(f"*/apps/{APP_ID}.png")) + sorted(hicolor.glob(f"*/apps/{APP_ID}.svg"))
    for path in victims:
        if path.is_file():
            path.unlink()
            report.removed.append(path)
    if report.removed and refresh_caches:
        _refresh_caches(base)
    return report


def run_install(uninstall: bool = False) -> int:
    """CLI action behind ``qwenvoice --install-desktop-entry``: prints what it did, returns exit code."""
    if sys.platform != "linux" and not sys.platform.startswith("freebsd"):
        print("qwenvoice: menu entries are installed by the desktop package on this system", file=sys.stderr)
        return 2
    try:
        report = uninstall_desktop_entry() if uninstall else install_desktop_entry()
    except OSError as exc:
        print(f"qwenvoice: could not {'remove' if uninstall else 'install'} the menu entry: {exc}", file=sys.stderr)
        return 1
    if uninstall:
        print(f"removed {len(report.removed)} file(s)")
        for path in report.removed:
            print(f"  {path}")
        return 0
    print(f"menu entry: {report.desktop_file}")
    print(f"icons: {len(report.icons)} in {report.desktop_file.parent.parent / 'icons' / 'hicolor'}")
    if not report.icons:
        print("warning: no application icon found in resources/", file=sys.stderr)
    print("up to date" if not report.changed else f"wrote {len(report.changed)} file(s)")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    action = args[0] if args else "install"
    if action not in ("install", "uninstall"):
        print("usage: python -m qwenvoice.desktop_entry [install|uninstall]", file=sys.stderr)
        return 2
    return run_install(uninstall=action == "uninstall")


if __name__ == "__main__":
    raise SystemExit(main())
