"""Import jobs: made from a stored file, a mapping and options; run a batch at a time, each
batch one transaction that also moves the job's checkpoint, so that running a job again
after a crash goes on from the last committed line. Rows before the checkpoint are read
again without writing, to know which addresses the file already gave."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select, update

from nurture.contacts import lists
from nurture.contacts.imports import reading
from nurture.contacts.imports.batch import Batch, Counts, write
from nurture.contacts.imports.errors import ImportFileError, ImportNotFound, MappingError
from nurture.contacts.imports.mapping import Accepted, Plan, convert, plan
from nurture.contacts.imports.models import ImportJob
from nurture.contacts.imports.options import Options
from nurture.contacts.imports.prefetch import ahead
from nurture.contacts.imports.seen import Seen
from nurture.unit_of_work import Works

BATCH = 5000  # rows per transaction
MAX_COLUMNS = 500
FINISHED = ("done",)


@dataclass(frozen=True)
class Progress:
    """Where a job is, as the progress bar and page show it."""

    job_id: int
    status: str
    line: int
    total_lines: int
    rows_read: int
    counts: Counts
    rows_per_second: float
    error: str = ""


Hook = Callable[[int], None]  # called with the batch's number inside its transaction


def fingerprint(path: Path) -> str:
    """The file's size and the hash of its first and last 64 KiB: the same file again."""
    size = path.stat().st_size
    digest = hashlib.sha256(str(size).encode())
    with path.open("rb") as handle:
        digest.update(handle.read(65536))
        handle.seek(max(0, size - 65536))
        digest.update(handle.read(65536))
    return f"{size}:{digest.hexdigest()[:32]}"


def header(path: Path) -> tuple[reading.FileFormat, list[str]]:
    """The file's format and its header's columns. Raises ImportFileError."""
    found = reading.detect(path)
    first = next(reading.rows(path, found), None)
    if first is None or not first.cells:
        raise ImportFileError("The file has no header line naming its columns, such as "
                              "email,first_name,last_name.")
    columns = [c.strip() for c in first.cells]
    if len(columns) > MAX_COLUMNS:
        raise ImportFileError(f"The file has {len(columns):,} columns; an import reads at "
                              f"most {MAX_COLUMNS}.")
    for column in columns:
        if "\x00" in column or len(column) > 200:
            raise ImportFileError("A column name in the header is longer than 200 "
                                  "characters or holds a NUL character; is this a CSV file?")
    return found, columns


def check_mapping(path: Path, mapping: dict[str, str]) -> None:
    """Raises MappingError (every problem, one sentence each) when `mapping` cannot be
    used with this file's header."""
    plan(header(path)[1], mapping)


def create(works: Works, path: Path, file_name: str, mapping: dict[str, str],
           options: Options, by: str, *, background: bool) -> int:
    """A new job for this file; `background`: due now, for the scheduler to hand to a
    worker. Raises ImportFileError or MappingError when it could never run."""
    _, columns = header(path)
    plan(columns, mapping)
    now = works.now()
    with works.work(now) as work:
        job = ImportJob(file_name=file_name[:255], path=str(path), mapping=mapping,
                        options=_stored(options, path, columns),
                        created_by=by[:320], created_at=now,
                        due_at=now if background else None)
        work.session.add(job)
        work.session.flush()
        if options.list_name:  # made now, with the job: the run only adds to it
            lists.ensure(work.session, options.list_name, now, by=by,
                         description=f"Imported from {file_name[:200]}")
        if background:
            work.due("run_imports", [job.id])
        return job.id


def unfinished(works: Works, path: Path, mapping: dict[str, str],
               options: Options) -> int | None:
    """The job that imported this same file with the same choices and did not finish
    (stopped by a crash or an error): running the file again resumes it."""
    wanted = _stored(options, path, header(path)[1])
    with works.sessions() as session:
        jobs = session.scalars(select(ImportJob).where(
            ImportJob.path == str(path), ImportJob.status.in_(("running", "failed")),
            ImportJob.due_at.is_(None)).order_by(ImportJob.id.desc()).limit(5))
        for job in jobs:
            if job.mapping == mapping and job.options == wanted:
                return job.id
    return None


def _stored(options: Options, path: Path, columns: list[str]) -> dict[str, Any]:
    """The options as the job keeps them, with the file's fingerprint and header."""
    return {**options.to_json(), "fingerprint": fingerprint(path), "header": columns}


def run(works: Works, job_id: int, *, batch_size: int = BATCH, lease: timedelta | None = None,
        hook: Hook | None = None, progress: Callable[[Progress], None] | None = None
        ) -> Progress:
    """Run the job from its checkpoint to the end of its file. An error stops it as
    `failed` with a sentence (and is raised again); running it again resumes it."""
    with works.transaction() as session:
        job = session.get(ImportJob, job_id)
        if job is None:
            raise ImportNotFound(f"There is no import #{job_id}.")
        if job.status in FINISHED:
            return _progress(job)
        now = works.now()
        job.status, job.error = "running", ""
        job.started_at = job.started_at or now
        options = Options.from_json(job.options)
        path, mapping, checkpoint = Path(job.path), dict(job.mapping), job.checkpoint_line
        list_id = lists.ensure(session, options.list_name, now, by=job.created_by,
                               description=f"Imported from {job.file_name}") \
            if options.list_name else None
    counts = Counts()
    started, done_rows = time.monotonic(), 0
    try:
        found = reading.detect(path)
        with works.transaction() as session:
            session.execute(update(ImportJob).where(ImportJob.id == job_id)
                            .values(total_lines=found.lines))
        source = reading.rows(path, found)
        first = next(source, None)
        if first is None or not first.cells:
            raise ImportFileError("The file has no header line naming its columns.")
        the_plan = plan([c.strip() for c in first.cells], mapping)
        seen = Seen()
        for number, (last_line, batch, size) in enumerate(
                ahead(_batches(source, the_plan, seen, batch_size, checkpoint))):
            now = works.now()
            with works.work(now) as work:
                done = write(work, job_id, batch, options, list_id, now)
                done_rows += size
                rate = done_rows / max(time.monotonic() - started, 1e-6)
                values: dict[str, Any] = {
                    "checkpoint_line": last_line, "rows_per_second": round(rate, 1),
                    "rows_read": ImportJob.rows_read + size}
                for name in ("created", "updated", "skipped", "duplicates", "rejected"):
                    values[name] = getattr(ImportJob, name) + getattr(done, name)
                if lease is not None:
                    values["lease_until"] = now + lease
                work.session.execute(update(ImportJob).where(ImportJob.id == job_id)
                                     .values(**values))
                if hook is not None:
                    hook(number)
            counts.add(done)
            if progress is not None:
                progress(status(works, job_id))
    except (ImportFileError, MappingError, UnicodeDecodeError, OSError) as exc:
        _stop(works, job_id, _sentence(exc))
        raise ImportFileError(_sentence(exc)) from exc
    except Exception as exc:
        _stop(works, job_id, f"The import stopped ({type(exc).__name__}); the rows before "
                             "its last checkpoint are in. Run it again to go on.")
        raise
    with works.transaction() as session:
        session.execute(update(ImportJob).where(ImportJob.id == job_id).values(
            status="done", finished_at=works.now(), due_at=None, lease_until=None))
    return status(works, job_id)


def _sentence(exc: Exception) -> str:
    if isinstance(exc, UnicodeDecodeError):
        return "The file changed while it was imported, or is not text it was read as."
    if isinstance(exc, OSError):
        return "The stored file of this import cannot be read any more; upload it again."
    return str(exc)


def _stop(works: Works, job_id: int, sentence: str) -> None:
    with works.transaction() as session:
        session.execute(update(ImportJob).where(ImportJob.id == job_id).values(
            status="failed", error=sentence, finished_at=works.now(), due_at=None,
            lease_until=None))


def _batches(source: Iterator[reading.Row], the_plan: Plan, seen: Seen,
             size: int, checkpoint: int = 0) -> Iterator[tuple[int, Batch, int]]:
    """The file's rows after `checkpoint` in batches of `size`, checked: (the batch's
    last line, the batch, its row count). `seen` holds the addresses given by earlier
    rows; rows up to the checkpoint, already written, are read again only for it."""
    batch, count, last = Batch(), 0, 0
    for row in source:
        result = convert(row.cells, the_plan, row.line)
        if row.line <= checkpoint:
            if isinstance(result, Accepted):
                seen.add(result.email_key)
            continue
        if isinstance(result, Accepted):
            if not seen.add(result.email_key):
                batch.duplicates += 1
                batch.rejects.append((row.line, f"Line {row.line}: the address "
                                      f"{result.fields['email'][:80]!r} is already on an "
                                      "earlier line of the file; the first one is kept.",
                                      row.cells))
            else:
                batch.accepted.append(result)
        else:
            batch.rejects.append((row.line, result, row.cells))
        count, last = count + 1, row.line
        if count == size:
            yield last, batch, count
            batch, count = Batch(), 0
    if count:
        yield last, batch, count


def stored_path(works: Works, job_id: int) -> Path:
    with works.sessions() as session:
        job = session.get(ImportJob, job_id)
        if job is None:
            raise ImportNotFound(f"There is no import #{job_id}.")
        return Path(job.path)


def status(works: Works, job_id: int) -> Progress:
    with works.sessions() as session:
        job = session.get(ImportJob, job_id)
        if job is None:
            raise ImportNotFound(f"There is no import #{job_id}.")
        return _progress(job)


def _progress(job: ImportJob) -> Progress:
    return Progress(job.id, job.status, job.checkpoint_line, job.total_lines, job.rows_read,
                    Counts(job.created, job.updated, job.skipped, job.duplicates,
                           job.rejected), job.rows_per_second, job.error)


def requeue(works: Works, job_id: int, now: datetime) -> None:
    """Make a stopped job due again, for a worker to resume from its checkpoint."""
    with works.transaction() as session:
        session.execute(update(ImportJob).where(ImportJob.id == job_id,
                                                ImportJob.status != "done")
                        .values(due_at=now, lease_until=None, status="queued", error=""))
