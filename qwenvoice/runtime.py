"""Where the running app lives: installed from source, or frozen into a PyInstaller bundle.

A frozen app has no ``python -m``: ``sys.executable`` is the bundled ``qwenvoice`` program itself, and
its data files sit under ``sys._MEIPASS``. Every place that starts a child process of ours or opens a
file from ``resources/`` asks this module, so the installed and the frozen app behave the same.

No Qt here: the controller (``app``) and the offline-server launcher both use it.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

APP_NAME = "qwenvoice"
_PACKAGE_DIR = Path(__file__).resolve().parent


def is_frozen() -> bool:
    """True inside a PyInstaller bundle (``sys.frozen`` is set by its bootloader)."""
    return bool(getattr(sys, "frozen", False))


def bundle_dir() -> Path | None:
    """The folder that holds the frozen app's data files (``_internal/`` in a one-folder build)."""
    if not is_frozen():
        return None
    meipass = getattr(sys, "_MEIPASS", None)
    return Path(meipass) if meipass else Path(sys.executable).resolve().parent


def app_command() -> list[str]:
    """The command that starts ``qwenvoice`` again (the GUI, or a subcommand appended to it)."""
    if is_frozen():
        return [sys.executable]
    return [sys.executable, "-m", APP_NAME]


def server_command(args: list[str] | tuple[str, ...] = ()) -> list[str]:
    """The command line of the offline server child process, ``qwenvoice serve ARGS...``.

    Frozen: the bundled program with the ``serve`` subcommand (there is no interpreter to ``-m``);
    otherwise the current interpreter runs the package, so a venv's server matches its GUI.
    """
    return [*app_command(), "serve", *args]


def launcher_command() -> list[str]:
    """What a desktop menu entry should run to start the GUI.

    Frozen: the bundled program. Installed in a venv: its ``qwenvoice`` console script when it sits
    beside the interpreter (a readable menu entry), else ``python -m qwenvoice``.
    """
    if is_frozen():
        return [str(Path(sys.executable).resolve())]
    scripts_dir = Path(sys.executable).parent
    script = shutil.which(APP_NAME, path=str(scripts_dir))
    if script:
        return [str(Path(script).absolute())]
    return [str(Path(sys.executable).absolute()), "-m", APP_NAME]


def resource_dirs() -> list[Path]:
    """Candidate ``resources`` folders, most specific first.

    Frozen: ``<bundle>/resources``. From a source checkout or an editable install: the repository's
    top-level ``resources/``. From a wheel: ``<prefix>/share/qwenvoice/resources`` (the wheel's data
    files, in the environment's or the user's prefix), looked at last so a checkout's own files win.
    """
    candidates: list[Path] = []
    override = os.environ.get("QWENVOICE_RESOURCES")
    if override:
        candidates.append(Path(override))
    bundled = bundle_dir()
    if bundled is not None:
        candidates.append(bundled / "resources")
    candidates.append(_PACKAGE_DIR.parent / "resources")
    for prefix in _install_prefixes():
        candidates.append(prefix / "share" / APP_NAME / "resources")
    return candidates


def _install_prefixes() -> list[Path]:
    """Where pip puts a wheel's data files: the environment, then the user's base (``--user``)."""
    import site

    prefixes = [Path(sys.prefix)]
    user_base = site.getuserbase()
    if user_base and Path(user_base) not in prefixes:
        prefixes.append(Path(user_base))
    return prefixes


def resource_path(relative: str | os.PathLike[str]) -> Path:
    """The path of ``resources/<relative>``, from the first candidate folder that has it.

    When no candidate has the file, the path under the first existing ``resources`` folder is
    returned (so a caller's "file not found" message names a sensible place).
    """
    rel = Path(relative)
    if rel.is_absolute():
        return rel
    dirs = resource_dirs()
    for base in dirs:
        candidate = base / rel
        if candidate.exists():
            return candidate
    for base in dirs:
        if base.is_dir():
            return base / rel
    return dirs[-1] / rel


def user_log_dir() -> Path:
    """Per-user log folder (e.g. ``~/.local/state/qwenvoice/log`` on Linux), created on demand (0700)."""
    import platformdirs

    from qwenvoice.private_files import private_dir

    return private_dir(Path(platformdirs.user_log_dir(APP_NAME, appauthor=False)))


def default_log_file(name: str = "qwenvoice.log") -> Path:
    """The log file of the GUI (``server.log`` for the offline server child, by convention)."""
    return user_log_dir() / name
