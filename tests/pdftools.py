"""The statement PDFs as poppler reads them: ``pdftotext`` for the words, ``pdffonts`` for the fonts."""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path


def _run(tool: str, pdf: bytes, *args: str) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "statement.pdf"
        path.write_bytes(pdf)
        return subprocess.run([tool, *args, str(path), *(["-"] if tool == "pdftotext" else [])],
                              check=True, capture_output=True, text=True).stdout


def pdf_text(pdf: bytes) -> str:
    """The text in reading order, one printed line a line."""
    return _run("pdftotext", pdf, "-layout")


def pdf_fonts(pdf: bytes) -> list[dict[str, str]]:
    """One row per font: name, type, emb (yes/no), sub (yes/no)."""
    rows = _run("pdffonts", pdf).splitlines()[2:]
    out = []
    for row in rows:
        cells = row.split()
        # name type… encoding emb sub uni object-id generation
        out.append({"name": cells[0], "emb": cells[-5], "sub": cells[-4]})
    return out


def page_sizes_mm(pdf: bytes) -> list[tuple[float, float]]:
    """Each page's width and height in millimetres."""
    from io import BytesIO

    from pypdf import PdfReader

    return [(float(p.mediabox.width) * 25.4 / 72, float(p.mediabox.height) * 25.4 / 72)
            for p in PdfReader(BytesIO(pdf)).pages]
