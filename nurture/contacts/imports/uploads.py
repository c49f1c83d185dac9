"""Files uploaded for an import, kept under the var dir (never in memory): each under a
random name, which is the only way to it. Starting an import gives the job a copy of its
own (a hard link), deleted once the job is done; the upload itself may be mapped again
(another mapping, another list) and is deleted a day later, at the next upload."""

from __future__ import annotations

import os
import re
import secrets
import shutil
import time
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
KEEP_SECONDS = 24 * 3600  # an upload nobody imported is deleted after a day


def folder(var_dir: Path) -> Path:
    return var_dir / "imports"


def store(var_dir: Path, stream: IO[bytes]) -> str:
    """Copy the upload to the var dir; its token. Raises ImportFileError (and keeps
    nothing) when it cannot be a CSV file of contacts."""
    token = secrets.token_hex(16)
    where = folder(var_dir)
    where.mkdir(parents=True, exist_ok=True)
    _sweep(where)
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


def _sweep(where: Path) -> None:
    """Delete the uploads older than KEEP_SECONDS (jobs' own copies stay until done)."""
    cutoff = time.time() - KEEP_SECONDS
    for old in where.glob("*.csv"):
        if TOKEN.fullmatch(old.stem) and old.stat().st_mtime < cutoff:
            old.unlink(missing_ok=True)


def for_job(var_dir: Path, token: str) -> Path:
    """A copy of the upload for one job to read (a hard link: no second file's worth of
    disk), so that the upload can be mapped again while the job runs and after."""
    source = path_of(var_dir, token)
    copy = folder(var_dir) / f"{token}-{secrets.token_hex(4)}.job.csv"
    try:
        os.link(source, copy)
    except OSError:  # a file system without hard links
        shutil.copyfile(source, copy)
    return copy


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
