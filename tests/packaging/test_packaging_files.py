"""Cheap checks of the packaging inputs that this machine cannot build (macOS, Windows) and of the
frozen program's entry script. The frozen build itself is tested by packaging/smoke_test.sh."""

from __future__ import annotations

import ast
import os
import plistlib
import re
import struct
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGING = ROOT / "packaging"
sys.path.insert(0, str(PACKAGING))

from icons import make_icns, make_ico  # noqa: E402

from qwenvoice import __version__  # noqa: E402
from qwenvoice.desktop_entry import find_app_icons, png_size  # noqa: E402


def test_info_plist_asks_for_the_microphone() -> None:
    info = plistlib.loads((PACKAGING / "macos" / "Info.plist").read_bytes())
    assert len(info["NSMicrophoneUsageDescription"]) > 20
    assert info["CFBundleIdentifier"].count(".") >= 2
    assert info["NSHighResolutionCapable"] is True


def test_entitlements_allow_audio_input() -> None:
    ent = plistlib.loads((PACKAGING / "macos" / "entitlements.plist").read_bytes())
    assert ent["com.apple.security.device.audio-input"] is True
    assert "com.apple.security.app-sandbox" not in ent  # sandboxing would need network entitlements too


class _Recorder:
    """Stands in for PyInstaller's VSVersionInfo classes: records the structure it is built with."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __call__(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        return {"kind": self.name, "args": list(args), **kwargs}


def _strings(node: Any) -> dict[str, str]:
    found: dict[str, str] = {}
    if isinstance(node, dict):
        if node.get("kind") == "StringStruct":
            found[node["args"][0]] = node["args"][1]
        for value in node.values():
            found |= _strings(value)
    elif isinstance(node, list):
        for item in node:
            found |= _strings(item)
    return found


def test_windows_version_info_renders_for_this_version() -> None:
    template = (PACKAGING / "windows" / "version_info.txt").read_text(encoding="utf-8")
    numbers = [int(n) for n in re.findall(r"\d+", __version__)[:4]]
    version_tuple = tuple(numbers + [0] * (4 - len(numbers)))
    text = template.replace("{version_tuple}", repr(version_tuple)).replace("{version}", __version__)
    names = ("VSVersionInfo", "FixedFileInfo", "StringFileInfo", "StringTable", "StringStruct",
             "VarFileInfo", "VarStruct")
    namespace = {name: _Recorder(name) for name in names}
    tree = ast.parse(text, mode="eval")  # the same kind of expression PyInstaller evaluates
    info = eval(compile(tree, "version_info.txt", "eval"), {"__builtins__": {}}, namespace)  # noqa: S307
    assert info["kind"] == "VSVersionInfo"
    assert info["ffi"]["filevers"] == version_tuple
    strings = _strings(info)
    assert strings["ProductVersion"] == __version__ and strings["OriginalFilename"] == "qwenvoice.exe"


def test_ico_and_icns_hold_every_app_icon_size(tmp_path: Path) -> None:
    pngs, _ = find_app_icons(ROOT / "resources")
    assert pngs, "resources/ has no app icon PNGs"
    ico = make_ico(pngs, tmp_path / "a.ico")
    assert ico is not None
    data = ico.read_bytes()
    reserved, kind, count = struct.unpack("<HHH", data[:6])
    assert (reserved, kind) == (0, 1) and count == len([s for s in pngs if s <= 256])
    for i in range(count):
        w, h, _, _, planes, bpp, size, offset = struct.unpack("<BBBBHHII", data[6 + 16 * i: 22 + 16 * i])
        assert data[offset: offset + 8] == b"\x89PNG\r\n\x1a\n" and planes == 1 and bpp == 32
        side = w or 256
        assert png_size(pngs[side]) == (side, side) and size == pngs[side].stat().st_size

    icns = make_icns(pngs, tmp_path / "a.icns")
    assert icns is not None
    raw = icns.read_bytes()
    assert raw[:4] == b"icns" and struct.unpack(">I", raw[4:8])[0] == len(raw)
    pos, kinds = 8, []
    while pos < len(raw):
        kinds.append(raw[pos: pos + 4])
        pos += struct.unpack(">I", raw[pos + 4: pos + 8])[0]
    assert pos == len(raw) and b"ic07" in kinds and b"ic08" in kinds  # 128 and 256 px


def test_spec_and_scripts_parse() -> None:
    compile((PACKAGING / "qwenvoice.spec").read_text(encoding="utf-8"), "qwenvoice.spec", "exec")
    for script in ("build.sh", "smoke_test.sh", "linux/install-desktop-entry.sh", "linux/AppRun"):
        path = PACKAGING / script
        assert os.access(path, os.X_OK), f"{script} is not executable"
        shell = "sh" if script.startswith("linux/") else "bash"
        result = subprocess.run([shell, "-n", str(path)], capture_output=True, text=True, check=False)
        assert result.returncode == 0, result.stderr


def _entry(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(PACKAGING / "qwenvoice_entry.py"), *args], env=env,
                          capture_output=True, text=True, timeout=60, check=False, cwd=ROOT)


def test_entry_script_is_the_qwenvoice_command(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "XDG_DATA_HOME": str(tmp_path / "xdg")}
    version = _entry(["--version"], env)
    assert version.returncode == 0 and version.stdout.strip() == f"qwenvoice {__version__}"
    serve_help = _entry(["serve", "--help"], env)
    assert serve_help.returncode == 0 and "--token" in serve_help.stdout


@pytest.mark.skipif(sys.platform != "linux", reason="menu entries are a freedesktop feature")
def test_entry_script_installs_and_removes_the_menu_entry(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "XDG_DATA_HOME": str(tmp_path / "xdg")}
    env.pop("QWENVOICE_RESOURCES", None)
    installed = _entry(["--install-desktop-entry"], env)
    assert installed.returncode == 0, installed.stderr
    desktop = tmp_path / "xdg" / "applications" / "qwenvoice.desktop"
    assert "Icon=qwenvoice" in desktop.read_text(encoding="utf-8")
    assert (tmp_path / "xdg" / "icons" / "hicolor" / "48x48" / "apps" / "qwenvoice.png").is_file()
    removed = _entry(["--uninstall-desktop-entry"], env)
    assert removed.returncode == 0 and not desktop.exists()
