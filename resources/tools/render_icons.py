"""Render the app icon SVG to PNGs (16..512 px) and a Windows .ico, with Qt's own SVG renderer.

Run from the repository root:  .venv/bin/python resources/tools/render_icons.py
The PNGs are committed so packaging does not need Qt at build time; rerun after editing the SVG.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QRectF, Qt  # noqa: E402
from PySide6.QtGui import QGuiApplication, QImage, QImageWriter, QPainter  # noqa: E402
from PySide6.QtSvg import QSvgRenderer  # noqa: E402

ICON_DIR = Path(__file__).resolve().parents[1] / "icons"
APP_ICON = ICON_DIR / "qwenvoice.svg"
SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)


def render(svg: Path, size: int) -> QImage:
    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise SystemExit(f"invalid SVG: {svg}")
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter, QRectF(0, 0, size, size))
    painter.end()
    return image


def main() -> int:
    _app = QGuiApplication(sys.argv[:1])
    out_dir = ICON_DIR / "png"
    out_dir.mkdir(exist_ok=True)
    for size in SIZES:
        target = out_dir / f"qwenvoice-{size}.png"
        if not render(APP_ICON, size).save(str(target)):
            raise SystemExit(f"could not write {target}")
        print(target.relative_to(ICON_DIR.parent))
    if b"ico" in [bytes(f.data()) for f in QImageWriter.supportedImageFormats()]:
        # Qt's ICO writer stores one image; the largest common size keeps it sharp when scaled down.
        ico = ICON_DIR / "qwenvoice.ico"
        if render(APP_ICON, max(ICO_SIZES)).save(str(ico), "ICO"):
            print(ico.relative_to(ICON_DIR.parent))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
