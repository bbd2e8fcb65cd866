"""Refresh the UI translations: extract texts with pyside6-lupdate, compile .qm with pyside6-lrelease.

Run from the repository root:  .venv/bin/python resources/tools/update_translations.py [--no-extract]

Texts are marked in the code as ``translate("Context", "text")`` (qwenvoice.ui.i18n) or
``self.tr("text")``. lupdate keeps existing translations and marks vanished texts obsolete; edit
resources/translations/qwenvoice_<lang>.ts (Qt Linguist or a text editor), then run this again to
compile the .qm files the app loads. English is the source language, so its catalogue only exists
to keep the set complete; Simplified Chinese carries the translations.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "resources" / "translations"
LANGUAGES = ("en", "zh_CN")


def tool(name: str) -> str:
    candidate = Path(sys.executable).parent / name
    if candidate.exists():
        return str(candidate)
    found = shutil.which(name)
    if found is None:
        raise SystemExit(f"{name} not found (it ships with PySide6)")
    return found


def sources() -> list[str]:
    # The settings field declarations carry their labels (marked with QT_TRANSLATE_NOOP).
    files = sorted((ROOT / "qwenvoice" / "ui").glob("*.py")) + [ROOT / "qwenvoice" / "settings" / "fields.py"]
    gui = ROOT / "qwenvoice" / "gui.py"
    if gui.exists():
        files.append(gui)
    return [str(f.relative_to(ROOT)) for f in files]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-extract", action="store_true", help="only compile the .ts files")
    args = parser.parse_args()
    TRANSLATIONS.mkdir(parents=True, exist_ok=True)
    for lang in LANGUAGES:
        ts = TRANSLATIONS / f"qwenvoice_{lang}.ts"
        if not args.no_extract:
            subprocess.run(
                [tool("pyside6-lupdate"), "-locations", "none", "-source-language", "en",
                 "-target-language", lang, *sources(), "-ts", str(ts.relative_to(ROOT))],
                cwd=ROOT, check=True,
            )  # fmt: skip
        subprocess.run(
            [tool("pyside6-lrelease"), str(ts), "-qm", str(ts.with_suffix(".qm"))], cwd=ROOT, check=True
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
