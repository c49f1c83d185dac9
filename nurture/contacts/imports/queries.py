"""Reading imports: a job as its pages show it, the rejected rows as CSV, recent jobs."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import TextIO

from sqlalchemy import select

from nurture.contacts.imports.errors import ImportNotFound
from nurture.contacts.imports.models import ImportJob, ImportReject
from nurture.contacts.imports.options import Options
from nurture.unit_of_work import Works

CHUNK = 2000
SHOWN_REJECTS = 50


@dataclass(frozen=True)
class Reject:
    line: int
    reason: str


@dataclass(frozen=True)
class JobView:
    id: int
    file_name: str
    status: str
    options: Options
    mapping: dict[str, str]
    header: list[str]
    total_lines: int
    line: int
    rows_read: int
    created: int
    updated: int
    skipped: int
    duplicates: int
    rejected: int
    rows_per_second: float
    error: str
    created_by: str
    created_at: datetime
    finished_at: datetime | None
    rejects: list[Reject]  # the first SHOWN_REJECTS

    @property
    def percent(self) -> int:
        if self.status == "done":
            return 100
        return min(99, int(100 * self.line / self.total_lines)) if self.total_lines else 0

    @property
    def finished(self) -> bool:
        return self.status in ("done", "failed")


def job(works: Works, job_id: int) -> JobView:
    with works.sessions() as session:
        row = session.get(ImportJob, job_id)
        if row is None:
            raise ImportNotFound(f"There is no import #{job_id}.")
        rejects = [Reject(line, reason) for line, reason in session.execute(
            select(ImportReject.line, ImportReject.reason).where(ImportReject.job_id == job_id)
            .order_by(ImportReject.line).limit(SHOWN_REJECTS))]
        return JobView(row.id, row.file_name, row.status, Options.from_json(row.options),
                       dict(row.mapping), list(row.options.get("header") or row.mapping),
                       row.total_lines,
                       row.checkpoint_line, row.rows_read, row.created, row.updated,
                       row.skipped, row.duplicates, row.rejected, row.rows_per_second,
                       row.error, row.created_by, row.created_at, row.finished_at, rejects)


def recent(works: Works, limit: int = 20) -> list[JobView]:
    with works.sessions() as session:
        ids = list(session.scalars(select(ImportJob.id).order_by(ImportJob.id.desc())
                                   .limit(limit)))
    return [job(works, job_id) for job_id in ids]


def rejects_csv(works: Works, job_id: int) -> Iterator[str]:
    """The rejected rows as CSV text, a chunk at a time: line, reason, then the row's
    cells under the file's header. Each chunk is read in its own short session, so a
    slow download holds no transaction open."""
    with works.sessions() as session:
        row = session.get(ImportJob, job_id)
        if row is None:
            raise ImportNotFound(f"There is no import #{job_id}.")
        header = list(row.options.get("header") or row.mapping)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["line", "reason", *header])
    after = 0
    while True:
        with works.sessions() as session:
            page = session.execute(
                select(ImportReject.id, ImportReject.line, ImportReject.reason,
                       ImportReject.raw)
                .where(ImportReject.job_id == job_id, ImportReject.id > after)
                .order_by(ImportReject.id).limit(CHUNK)).all()
        for reject_id, line, reason, raw in page:
            writer.writerow([line, reason, *[_safe(cell) for cell in raw]])
            after = reject_id
        yield out.getvalue()
        out.seek(0)
        out.truncate()
        if len(page) < CHUNK:
            return


def write_rejects(works: Works, job_id: int, out: TextIO) -> int:
    """Write the rejected rows as CSV (`rejects_csv`) to `out`; how many rows."""
    for chunk in rejects_csv(works, job_id):
        out.write(chunk)
    done = job(works, job_id)
    return done.rejected + done.duplicates


def _safe(cell: str) -> str:
    """A cell a spreadsheet will not run as a formula (CSV injection)."""
    return "'" + cell if cell[:1] in ("=", "+", "-", "@", "\t", "\r") else cell
