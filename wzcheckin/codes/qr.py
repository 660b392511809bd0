"""QR rendering: an inline SVG path (no script, no external file), error-correction level M.

``qrcode`` encodes the data and chooses the mask by the standard's penalty rules; the SVG is
drawn here from the module matrix, one path segment per horizontal run of dark modules, which is
several times faster than drawing module by module and makes a smaller document.
"""

from __future__ import annotations

import base64

import qrcode
from markupsafe import Markup, escape

BORDER = 4  # quiet zone, in modules (the standard's minimum)


def qr_matrix(data: str) -> list[list[bool]]:
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=0)
    code.add_data(data)
    code.make(fit=True)
    return code.modules


def qr_bits(data: str) -> tuple[int, str]:
    """(size, base64 of the modules row by row, one bit each, first module in the high bit): a
    QR code in about 300 characters for a page's script to draw (static/js/pass/pass.js).

    One fixed mask (the checkerboard, 0) instead of trying all eight for the lowest penalty:
    any mask is a valid code that every reader decodes, and skipping the search makes it several
    times faster, which matters for a batch of passes signed ahead."""
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=0, mask_pattern=0)
    code.add_data(data)
    code.make(fit=True)
    flat = [module for row in code.modules for module in row]
    packed = bytearray((len(flat) + 7) // 8)
    for index, dark in enumerate(flat):
        if dark:
            packed[index // 8] |= 0x80 >> (index % 8)
    return len(code.modules), base64.b64encode(bytes(packed)).decode("ascii")


def svg_path(matrix: list[list[bool]], border: int = BORDER) -> str:
    segments = []
    for y, row in enumerate(matrix):
        x, width = 0, len(row)
        while x < width:
            if row[x]:
                start = x
                while x < width and row[x]:
                    x += 1
                segments.append(f"M{start + border} {y + border}h{x - start}v1h-{x - start}z")
            else:
                x += 1
    return "".join(segments)


def qr_svg(data: str, *, title: str = "") -> Markup:
    """An ``<svg>`` element for ``data``; upper-case base32 tokens use QR alphanumeric mode."""
    matrix = qr_matrix(data)
    size = len(matrix) + 2 * BORDER
    title_element = f"<title>{escape(title)}</title>" if title else ""
    return Markup(  # noqa: S704 - built from integers and an escaped title
        f'<svg class="qr" role="img" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {size} {size}" '
        f'preserveAspectRatio="xMidYMid meet" shape-rendering="crispEdges">{title_element}'
        f'<rect width="{size}" height="{size}" fill="#fff"/><path d="{svg_path(matrix)}" fill="#000"/></svg>'
    )
