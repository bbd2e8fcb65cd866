"""qwenvoice.desktop_entry: real files written into a temporary XDG_DATA_HOME."""

from __future__ import annotations

import configparser
import shutil
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

from qwenvoice import desktop_entry
from qwenvoice.desktop_entry import (
    data_home,
    exec_line,
    find_app_icons,
    install_desktop_entry,
    png_size,
    render_desktop_entry,
    uninstall_desktop_entry,
)


def write_png(path: Path, width: int, height: int) -> Path:
    """A real, decodable RGBA PNG of the given size (one flat colour)."""
    row = b"\x00" + b"\x20\x60\xc0\xff" * width
    raw = zlib.compress(row * height)

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", raw) + chunk(b"IEND", b""))
    return path


@pytest.fixture
def resources(tmp_path: Path) -> Path:
    res = tmp_path / "resources"
    for size in (16, 32, 48, 128, 256):
        write_png(res / "icons" / f"qwenvoice-{size}.png", size, size)
    write_png(res / "icons" / "mic-32.png", 32, 32)  # a toolbar icon: never the app icon
    write_png(res / "icons" / "qwenvoice-banner.png", 300, 80)  # not square: skipped
    (res / "icons" / "qwenvoice.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg"/>')
    (res / "icons" / "record.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg"/>')
    return res


def read_entry(path: Path) -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(path.read_text(encoding="utf-8"))
    return parser["Desktop Entry"]


def unquote_exec(value: str) -> list[str]:
    """Split an Exec value back into arguments, following the Desktop Entry spec's rules."""
    value = value.replace("\\\\", "\x00").replace("\x00", "\\")  # string-level unescape of backslash
    value = value.replace("%%", "%")
    args: list[str] = []
    i, current, in_arg = 0, "", False
    while i < len(value):
        ch = value[i]
        if ch == '"':
            i += 1
            while value[i] != '"':
                if value[i] == "\\" and value[i + 1] in '"`$\\':
                    i += 1
                current += value[i]
                i += 1
            in_arg = True
        elif ch == " ":
            if in_arg:
                args.append(current)
            current, in_arg = "", False
        else:
            current += ch
            in_arg = True
        i += 1
    if in_arg:
        args.append(current)
    return args


def test_png_size_reads_the_header(tmp_path: Path) -> None:
    assert png_size(write_png(tmp_path / "a.png", 48, 40)) == (48, 40)
    (tmp_path / "b.png").write_bytes(b"GIF89a not a png at all...")
    assert png_size(tmp_path / "b.png") is None


def test_find_app_icons_skips_toolbar_and_non_square_icons(resources: Path) -> None:
    pngs, svg = find_app_icons(resources)
    assert sorted(pngs) == [16, 32, 48, 128, 256]
    assert all(p.name.startswith("qwenvoice-") for p in pngs.values())
    assert svg is not None and svg.name == "qwenvoice.svg"


def test_install_writes_entry_and_hicolor_icons(tmp_path: Path, resources: Path) -> None:
    home = tmp_path / "share"
    exe = tmp_path / "My Apps" / "qwenvoice" / "qwenvoice"
    report = install_desktop_entry(target=home, command=[str(exe)], resources=resources, refresh_caches=False)

    entry_file = home / "applications" / "qwenvoice.desktop"
    assert report.desktop_file == entry_file and entry_file.is_file()
    entry = read_entry(entry_file)
    assert entry["Type"] == "Application"
    assert entry["Icon"] == "qwenvoice"
    assert entry["Terminal"] == "false"
    assert unquote_exec(entry["Exec"]) == [str(exe)]
    assert entry["TryExec"] == str(exe)

    for size in (16, 32, 48, 128, 256):
        icon = home / "icons" / "hicolor" / f"{size}x{size}" / "apps" / "qwenvoice.png"
        assert icon.read_bytes() == (resources / "icons" / f"qwenvoice-{size}.png").read_bytes()
        assert png_size(icon) == (size, size)
    assert (home / "icons" / "hicolor" / "scalable" / "apps" / "qwenvoice.svg").is_file()
    assert not list((home / "icons").rglob("mic*")) and not list((home / "icons").rglob("record*"))
    assert len(report.icons) == 6 and len(report.changed) == 7


def test_install_is_idempotent_and_updates_a_moved_executable(tmp_path: Path, resources: Path) -> None:
    home = tmp_path / "share"
    first = install_desktop_entry(target=home, command=["/opt/a/qwenvoice"], resources=resources,
                                  refresh_caches=False)
    assert first.changed
    again = install_desktop_entry(target=home, command=["/opt/a/qwenvoice"], resources=resources,
                                  refresh_caches=False)
    assert again.changed == []
    moved = install_desktop_entry(target=home, command=["/opt/b/qwenvoice"], resources=resources,
                                  refresh_caches=False)
    assert moved.changed == [home / "applications" / "qwenvoice.desktop"]
    assert read_entry(moved.desktop_file)["Exec"] == "/opt/b/qwenvoice"


def test_uninstall_removes_exactly_what_install_wrote(tmp_path: Path, resources: Path) -> None:
    home = tmp_path / "share"
    other = write_png(home / "icons" / "hicolor" / "48x48" / "apps" / "someoneelse.png", 48, 48)
    report = install_desktop_entry(target=home, command=["/x/qwenvoice"], resources=resources,
                                   refresh_caches=False)
    removed = uninstall_desktop_entry(target=home, refresh_caches=False)
    assert sorted(removed.removed) == sorted([report.desktop_file, *report.icons])
    assert not (home / "applications" / "qwenvoice.desktop").exists()
    assert other.is_file()
    assert uninstall_desktop_entry(target=home, refresh_caches=False).removed == []


def test_exec_quoting_survives_reserved_characters() -> None:
    tricky = ['/home/a b/q"v$1`x\\y/qwenvoice', "-m", "qwenvoice", "50%"]
    line = exec_line(tricky)
    assert unquote_exec(line) == tricky
    assert exec_line(["/usr/bin/qwenvoice"]) == "/usr/bin/qwenvoice"
    assert "%%" in line  # a literal percent is never read as a field code


def test_template_from_resources_keeps_its_keys_and_actions(tmp_path: Path, resources: Path) -> None:
    (resources / "qwenvoice.desktop").write_text(
        "[Desktop Entry]\nType=Application\nName=qwenvoice\nName[zh_CN]=千问语音\nExec=qwenvoice %U\n"
        "Icon=old-name\nCategories=Audio;\n\n[Desktop Action offline]\nName=Offline\nExec=qwenvoice --offline\n",
        encoding="utf-8",
    )
    home = tmp_path / "share"
    install_desktop_entry(target=home, command=["/opt/qv/qwenvoice"], resources=resources, refresh_caches=False)
    text = (home / "applications" / "qwenvoice.desktop").read_text(encoding="utf-8")
    entry = read_entry(home / "applications" / "qwenvoice.desktop")
    assert entry["Name[zh_CN]"] == "千问语音"
    assert entry["Exec"] == "/opt/qv/qwenvoice" and entry["Icon"] == "qwenvoice"
    assert entry["TryExec"] == "/opt/qv/qwenvoice"
    # The action group is left as written; TryExec landed inside [Desktop Entry], before it.
    assert text.index("TryExec=") < text.index("[Desktop Action offline]")
    assert "Exec=qwenvoice --offline" in text


def test_render_without_template_has_the_required_keys() -> None:
    text = render_desktop_entry(["/usr/bin/qwenvoice"])
    assert text.startswith("[Desktop Entry]\n")
    for key in ("Type=Application", "Name=qwenvoice", "Exec=/usr/bin/qwenvoice", "Icon=qwenvoice"):
        assert key in text.splitlines()


def test_data_home_honours_absolute_xdg_data_home_only(tmp_path: Path) -> None:
    assert data_home({"XDG_DATA_HOME": str(tmp_path), "HOME": "/h"}) == tmp_path
    assert data_home({"XDG_DATA_HOME": "relative/dir", "HOME": "/h"}) == Path("/h/.local/share")
    assert data_home({"HOME": "/h"}) == Path("/h/.local/share")


@pytest.mark.skipif(sys.platform != "linux", reason="menu entries are a freedesktop feature")
def test_module_command_installs_into_xdg_data_home(tmp_path: Path, resources: Path) -> None:
    env = {"XDG_DATA_HOME": str(tmp_path / "xdg"), "QWENVOICE_RESOURCES": str(resources),
           "HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}
    run = [sys.executable, "-m", "qwenvoice.desktop_entry"]
    done = subprocess.run([*run, "install"], env=env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    entry_file = tmp_path / "xdg" / "applications" / "qwenvoice.desktop"
    exec_args = unquote_exec(read_entry(entry_file)["Exec"])
    assert Path(exec_args[0]).is_absolute()
    assert (tmp_path / "xdg" / "icons" / "hicolor" / "256x256" / "apps" / "qwenvoice.png").is_file()
    assert "up to date" in subprocess.run([*run, "install"], env=env, capture_output=True, text=True,
                                          timeout=60, check=False).stdout
    gone = subprocess.run([*run, "uninstall"], env=env, capture_output=True, text=True, timeout=60, check=False)
    assert gone.returncode == 0 and not entry_file.exists()
    assert desktop_entry.APP_ID in gone.stdout


def test_lookalike_names_are_not_the_app_icon(tmp_path: Path) -> None:
    res = tmp_path / "res"
    write_png(res / "icons" / "appearance-32.png", 32, 32)
    write_png(res / "icons" / "qwenvoicebar-32.png", 32, 32)
    (res / "icons" / "appearance.svg").write_text("<svg/>")
    write_png(res / "hicolor" / "64x64" / "apps" / "whatever.png", 64, 64)
    pngs, svg = find_app_icons(res)
    assert list(pngs) == [64] and svg is None


def test_the_repository_resources_provide_a_usable_app_icon() -> None:
    from qwenvoice.runtime import resource_path

    pngs, svg = find_app_icons(resource_path("."))
    assert svg is not None and svg.stem == "qwenvoice"
    assert {16, 32, 48, 128, 256} <= set(pngs)
    assert all(png_size(p) == (s, s) for s, p in pngs.items())


@pytest.mark.skipif(sys.platform != "linux", reason="menu entries are a freedesktop feature")
def test_icon_cache_is_refreshed_only_when_one_exists(tmp_path: Path, resources: Path) -> None:
    home = tmp_path / "share"
    install_desktop_entry(target=home, command=["/x/qwenvoice"], resources=resources)
    cache = home / "icons" / "hicolor" / "icon-theme.cache"
    assert not cache.exists()  # never created behind the user's back
    if shutil.which("gtk-update-icon-cache") is None:
        return
    subprocess.run(["gtk-update-icon-cache", "-q", "-t", "-f", str(cache.parent)], check=True)
    before = cache.read_bytes()
    write_png(resources / "icons" / "qwenvoice-64.png", 64, 64)  # a new size arrives with an update
    report = install_desktop_entry(target=home, command=["/x/qwenvoice"], resources=resources)
    assert report.changed == [home / "icons" / "hicolor" / "64x64" / "apps" / "qwenvoice.png"]
    assert cache.read_bytes() != before  # the existing cache was rebuilt with the new icon
