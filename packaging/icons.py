"""Windows .ico and macOS .icns files made from the app icon's PNG sizes, without an image library.

Both formats may hold PNG data as is: an ICO directory entry points at a PNG stream (Vista and
later), and ICNS has PNG-typed elements (icp4...ic10). So the build only needs the PNGs that
``resources/`` already ships, found the same way the Linux menu installer finds them.
"""

from __future__ import annotations

import struct
from pathlib import Path

# ICNS element types that hold PNG data, by pixel size.
_ICNS_TYPES = {16: b"icp4", 32: b"icp5", 64: b"icp6", 128: b"ic07", 256: b"ic08", 512: b"ic09", 1024: b"ic10"}


def make_ico(pngs: dict[int, Path], out: Path) -> Path | None:
    """Write an ICO with every PNG of 256 px or less; None when there is none."""
    chosen = [(size, pngs[size].read_bytes()) for size in sorted(pngs) if size <= 256]
    if not chosen:
        return None
    header = struct.pack("<HHH", 0, 1, len(chosen))
    offset = len(header) + 16 * len(chosen)
    entries, blobs = b"", b""
    for size, data in chosen:
        side = 0 if size == 256 else size  # 0 means 256 in an ICO directory entry
        entries += struct.pack("<BBBBHHII", side, side, 0, 0, 1, 32, len(data), offset)
        blobs += data
        offset += len(data)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(header + entries + blobs)
    return out


def make_icns(pngs: dict[int, Path], out: Path) -> Path | None:
    """Write an ICNS with every PNG whose size has a PNG element type; None when there is none."""
    elements = b""
    for size in sorted(pngs):
        kind = _ICNS_TYPES.get(size)
        if kind is None:
            continue
        data = pngs[size].read_bytes()
        elements += kind + struct.pack(">I", 8 + len(data)) + data
    if not elements:
        return None
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(b"icns" + struct.pack(">I", 8 + len(elements)) + elements)
    return out
