"""Where the file dialogs start: in the user's own folders (Documents, Music or home), never in the
process's working directory (the source checkout, when run from one), and where that dialog was last
used during this run."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QStandardPaths

_Location = QStandardPaths.StandardLocation
FOLDERS = {"documents": _Location.DocumentsLocation, "music": _Location.MusicLocation}
_last: dict[str, Path] = {}  # dialog name -> the folder it was last used in


def user_folder(kind: str = "documents") -> Path:
    """The user's Documents (or Music) folder when it exists, else the home folder."""
    for location in (FOLDERS.get(kind, _Location.DocumentsLocation), _Location.HomeLocation):
        for found in QStandardPaths.standardLocations(location):
            if found and Path(found).is_dir():
                return Path(found)
    return Path.home()


def start_path(dialog: str, file_name: str = "", kind: str = "documents") -> str:
    """The path a dialog opens at: its last folder (while it still exists) or the user's folder, with
    ``file_name`` proposed in it."""
    folder = _last.get(dialog)
    if folder is None or not folder.is_dir():
        folder = user_folder(kind)
    return str(folder / file_name) if file_name else str(folder)


def remember(dialog: str, chosen: str | Path) -> None:
    """Note where the user went with a dialog (a chosen file's folder, or a chosen folder)."""
    path = Path(chosen)
    _last[dialog] = path if path.is_dir() else path.parent


def forget_all() -> None:
    _last.clear()
