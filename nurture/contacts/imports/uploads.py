"""Files uploaded for an import, kept under the var dir (never in memory) until the job
that reads them is done: each under a random name, which is the only way to it."""

from __future__ import annotations

import re
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from nurture.contacts.imports import reading
from nurture.contacts.imports.errors import ImportFileError, ImportNotFound
from nurture.contacts.imports.mapping import suggest
from nurture.contacts.imports.service import header
from nurture.text import UNSTORABLE

TOKEN = re.compile(r"[0-9a-f]{32}")
SAMPLE_ROWS = 3


def folder(var_dir: Path) -> Path:
    return var_dir / "imports"


def store(var_dir: Path, stream: IO[bytes]) -> str:
    """Copy the upload to the var dir; its token. Raises ImportFileError (and keeps
    nothing) when it cannot be a CSV file of contacts."""
    token = secrets.token_hex(16)
    where = folder(var_dir)
    where.mkdir(parents=True, exist_ok=True)
    path = where / f"{token}.csv"
    with path.open("wb") as out:
        shutil.copyfileobj(stream, out, 1 << 20)
    try:
        header(path)
    except ImportFileError:
        path.unlink(missing_ok=True)
        raise
    return token


def path_of(var_dir: Path, token: str) -> Path:
    """The stored file of this token. Raises ImportNotFound for any other token."""
    path = folder(var_dir) / f"{token}.csv"
    if not TOKEN.fullmatch(token) or not path.is_file():
        raise ImportNotFound("This upload is not here any more; upload the file again.")
    return path


def discard(var_dir: Path, path: Path) -> None:
    """Delete an upload once its import is done (its rejected rows are kept in the
    database): a file of people's addresses does not linger. Files outside the uploads'
    folder (the command line's own) are left alone."""
    if path.parent.resolve() == folder(var_dir).resolve():
        path.unlink(missing_ok=True)


@dataclass(frozen=True)
class Preview:
    """What the mapping page shows of a file: its columns, the mapping suggested, the
    first rows, and how it was read."""

    header: list[str]
    suggested: dict[str, str]
    samples: list[list[str]]  # per column, its first values
    encoding: str
    delimiter: str
    lines: int


def preview(path: Path) -> Preview:
    found, columns = header(path)
    rows = reading.rows(path, found)
    next(rows, None)
    first = [row.cells for _, row in zip(range(SAMPLE_ROWS), rows, strict=False)]
    samples = [[UNSTORABLE.sub("\ufffd", cells[i][:60]) if i < len(cells) else ""
                for cells in first]
               for i in range(len(columns))]
    return Preview(columns, suggest(columns), samples, found.encoding, found.delimiter,
                   found.lines)
