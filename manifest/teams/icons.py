"""Draw the Teams app icons with the standard library only (run: python manifest/teams/icons.py).

color.png: 192x192, a full-bleed accent square with a white check mark on a document.
outline.png: 32x32, the same mark in white on a transparent background (Teams tints it).
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

ACCENT = (0x1F, 0x6F, 0xB2)
HERE = Path(__file__).parent


def _png(width: int, height: int, pixels: list[list[tuple[int, int, int, int]]]) -> bytes:
    raw = b"".join(b"\x00" + bytes(c for px in row for c in px) for row in pixels)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)  # 8-bit RGBA
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


def _segment_distance(px: float, py: float, a: tuple[float, float], b: tuple[float, float]) -> float:
    (ax, ay), (bx, by) = a, b
    dx, dy = bx - ax, by - ay
    t = max(0.0, min(1.0, ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy)))
    return ((px - ax - t * dx) ** 2 + (py - ay - t * dy) ** 2) ** 0.5


def _mark(size: int, x: float, y: float) -> float:
    """Coverage (0..1) of the mark at pixel (x, y): a page outline and a check mark, in unit coordinates."""
    u, v = x / size, y / size
    stroke = 0.065
    page = [
        ((0.26, 0.16), (0.62, 0.16)),
        ((0.62, 0.16), (0.74, 0.28)),
        ((0.74, 0.28), (0.74, 0.84)),
        ((0.74, 0.84), (0.26, 0.84)),
        ((0.26, 0.84), (0.26, 0.16)),
    ]
    check = [((0.36, 0.52), (0.47, 0.64)), ((0.47, 0.64), (0.66, 0.40))]
    d = min(_segment_distance(u, v, a, b) for a, b in page + check)
    edge = 1.0 / size
    return max(0.0, min(1.0, (stroke / 2 - d) / edge + 0.5))


def draw(size: int, *, background: tuple[int, int, int] | None) -> bytes:
    rows = []
    for y in range(size):
        row = []
        for x in range(size):
            cover = _mark(size, x + 0.5, y + 0.5)
            if background is None:
                row.append((255, 255, 255, round(255 * cover)))
            else:
                mixed = tuple(round(c + (255 - c) * cover) for c in background)
                row.append((*mixed, 255))  # type: ignore[arg-type]
        rows.append(row)
    return _png(size, size, rows)


if __name__ == "__main__":
    (HERE / "color.png").write_bytes(draw(192, background=ACCENT))
    (HERE / "outline.png").write_bytes(draw(32, background=None))
    print("wrote", HERE / "color.png", HERE / "outline.png")
