"""qwenvoice.runtime: child-process commands and resource lookup, installed and frozen."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from qwenvoice import runtime


@pytest.fixture
def frozen(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Pretend to run inside a one-folder PyInstaller bundle laid out under tmp_path."""
    app_dir = tmp_path / "dist" / "qwenvoice"
    internal = app_dir / "_internal"
    (internal / "resources" / "icons").mkdir(parents=True)
    exe = app_dir / "qwenvoice"
    exe.write_text("#!/bin/sh\n")
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "_MEIPASS", str(internal), raising=False)
    monkeypatch.setattr(sys, "executable", str(exe))
    monkeypatch.delenv("QWENVOICE_RESOURCES", raising=False)
    return app_dir


def test_not_frozen_in_tests() -> None:
    assert runtime.is_frozen() is False
    assert runtime.bundle_dir() is None


def test_server_command_from_source_runs_the_package_with_this_interpreter() -> None:
    cmd = runtime.server_command(["--port", "0", "--token", "t"])
    assert cmd == [sys.executable, "-m", "qwenvoice", "serve", "--port", "0", "--token", "t"]


def test_server_command_from_source_really_reaches_the_serve_subcommand() -> None:
    # The command is executed for real: argparse answers for `serve` without loading the speech stack.
    result = subprocess.run(
        [*runtime.server_command(["--help"])], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "--port" in result.stdout and "--token" in result.stdout


def test_server_command_when_frozen_uses_the_bundled_program(frozen: Path) -> None:
    assert runtime.is_frozen()
    cmd = runtime.server_command(["--port", "0"])
    assert cmd == [str(frozen / "qwenvoice"), "serve", "--port", "0"]
    assert "-m" not in cmd
    assert runtime.app_command() == [str(frozen / "qwenvoice")]


def test_launcher_command_when_frozen_is_the_absolute_executable(frozen: Path) -> None:
    assert runtime.launcher_command() == [str((frozen / "qwenvoice").resolve())]


def test_launcher_command_in_a_venv_prefers_the_console_script() -> None:
    cmd = runtime.launcher_command()
    script = Path(sys.executable).parent / "qwenvoice"
    if script.exists():
        assert cmd == [str(script.absolute())]
    else:
        assert cmd[1:] == ["-m", "qwenvoice"]
    assert Path(cmd[0]).is_absolute()


def test_resource_path_when_frozen_looks_inside_the_bundle(frozen: Path) -> None:
    icon = frozen / "_internal" / "resources" / "icons" / "qwenvoice.svg"
    icon.write_text("<svg/>")
    assert runtime.bundle_dir() == frozen / "_internal"
    assert runtime.resource_path("icons/qwenvoice.svg") == icon
    # A missing file is still reported under the bundle's resources folder.
    assert runtime.resource_path("nope.txt") == frozen / "_internal" / "resources" / "nope.txt"


def test_resource_path_from_source_finds_the_repository_resources() -> None:
    repo_resources = Path(runtime.__file__).resolve().parent.parent / "resources"
    assert repo_resources.is_dir()
    assert runtime.resource_path(".") in {repo_resources, repo_resources / "."}
    assert runtime.resource_path("x/y.qm").parent.parent in {repo_resources, repo_resources / "."}


def test_resource_path_from_a_wheel_uses_its_data_files(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A non-editable install has no resources/ beside the package: pip put the wheel's data files
    under <prefix>/share/qwenvoice/resources."""
    package = tmp_path / "site-packages" / "qwenvoice"
    package.mkdir(parents=True)
    style = tmp_path / "prefix" / "share" / "qwenvoice" / "resources" / "styles" / "light.qss"
    style.parent.mkdir(parents=True)
    style.write_text("QWidget {}")
    monkeypatch.setattr(runtime, "_PACKAGE_DIR", package)
    monkeypatch.setattr(sys, "prefix", str(tmp_path / "prefix"))
    monkeypatch.delenv("QWENVOICE_RESOURCES", raising=False)
    assert runtime.resource_path("styles/light.qss") == style


def test_wheel_data_files_carry_every_resource_the_app_loads() -> None:
    """pyproject's data-files globs, expanded, cover the icons, styles, translations and the desktop
    entry, each at its place under share/qwenvoice/resources (a new kind of resource must be added)."""
    import tomllib

    root = Path(runtime.__file__).resolve().parent.parent
    config = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    shipped: set[str] = set()
    prefix = "share/qwenvoice/resources"
    for target, patterns in config["tool"]["setuptools"]["data-files"].items():
        assert target == prefix or target.startswith(prefix + "/"), target
        for pattern in patterns:
            for path in root.glob(pattern):
                shipped.add(f"{target[len(prefix):].strip('/')}/{path.name}".lstrip("/"))
    resources = root / "resources"
    loaded = [p for kind in ("icons", "styles") for p in (resources / kind).rglob("*") if p.is_file()]
    loaded += [*(resources / "translations").glob("*.qm"), resources / "qwenvoice.desktop"]
    expected = {p.relative_to(resources).as_posix() for p in loaded}
    assert len(expected) > 20
    assert expected <= shipped, sorted(expected - shipped)


def test_resource_override_wins(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "style.qss").write_text("QWidget {}")
    monkeypatch.setenv("QWENVOICE_RESOURCES", str(tmp_path))
    assert runtime.resource_path("style.qss") == tmp_path / "style.qss"
    assert runtime.resource_dirs()[0] == tmp_path


def test_absolute_resource_path_is_returned_unchanged(tmp_path: Path) -> None:
    assert runtime.resource_path(tmp_path / "a.png") == tmp_path / "a.png"


@pytest.mark.skipif(sys.platform != "linux", reason="XDG state dir is the Linux log location")
def test_log_dir_follows_xdg_state_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    log_file = runtime.default_log_file()
    assert log_file == tmp_path / "state" / "qwenvoice" / "log" / "qwenvoice.log"
    assert log_file.parent.is_dir()
    assert runtime.default_log_file("server.log").name == "server.log"
