"""The history's SQLite file: its schema and migrations, opening it crash-safe, and setting a damaged one aside."""

# Durability: WAL journal with synchronous=FULL. WAL alone keeps the file consistent through a
# killed process or a power cut; FULL also fsyncs the WAL at every commit, so a record that was
# committed survives a power cut too (with NORMAL the last few commits can roll back). Unplugging
# the Pi is the usual way it is switched off, and we write a dozen small rows a session, so the
# few milliseconds of an fsync on an SD card cost nothing.
#
# A file that is not a database, or fails `PRAGMA quick_check` (truncated, overwritten), is moved
# aside as `<name>.corrupt-<time>` (with its -wal and -shm) and a fresh history is started, with a
# warning logged and `History.recovered_from` set so the coach can say so. The appliance has no
# screen: refusing to start would be a crash loop. Problems that moving the file cannot fix (a
# directory we may not write, a file from a newer voicecoach) are a HistoryError, one sentence.

from __future__ import annotations

import logging
import os
import sqlite3
from datetime import datetime
from pathlib import Path

from voicecoach.errors import VoicecoachError

log = logging.getLogger(__name__)

FILE_NAME = "history.sqlite3"
BUSY_TIMEOUT_MS = 5000

# MIGRATIONS[n] takes the file from user_version n to n + 1, in one transaction.
MIGRATIONS: list[tuple[str, ...]] = [
    (
        """CREATE TABLE sessions (
            id INTEGER PRIMARY KEY,
            routine TEXT NOT NULL,
            started_at TEXT NOT NULL,           -- wall clock, ISO 8601 with the UTC offset
            ended_at TEXT,                      -- NULL: never ended (process killed, power cut)
            stopped INTEGER,                    -- 1: the user said stop (or the session was abandoned)
            minutes REAL
        )""",
        """CREATE TABLE exercise_results (
            id INTEGER PRIMARY KEY,
            session_id INTEGER NOT NULL REFERENCES sessions(id),
            exercise TEXT NOT NULL,
            outcome TEXT NOT NULL CHECK (outcome IN ('completed', 'ended_early', 'skipped', 'stopped')),
            reason TEXT,                        -- why it was skipped: 'pain'
            reps_done INTEGER NOT NULL,
            reps_planned INTEGER NOT NULL,
            reps INTEGER,                       -- the numbers used (NULL: not known)
            hold_seconds INTEGER,
            hold_breaths INTEGER,
            duration_seconds INTEGER,
            started_at_seconds REAL NOT NULL,   -- on the session's clock
            ended_at_seconds REAL NOT NULL,
            recorded_at TEXT NOT NULL           -- wall clock
        )""",
        "CREATE INDEX exercise_results_by_session ON exercise_results (session_id, id)",
        "CREATE INDEX exercise_results_by_exercise ON exercise_results (exercise, id)",
        """CREATE TABLE progression (
            exercise TEXT PRIMARY KEY,
            restored_after INTEGER NOT NULL,    -- results with id <= this are forgotten
            restored_at TEXT NOT NULL
        )""",
    ),
    (
        """CREATE TABLE voice (
            name TEXT PRIMARY KEY,              -- 'breath_seconds' or 'volume', as in the settings file
            value REAL NOT NULL,                -- what the user said last ("slower", "quieter", ...)
            file_value REAL NOT NULL,           -- the settings file's value when it was said
            said_at TEXT NOT NULL               -- wall clock
        )""",
    ),
]


class HistoryError(VoicecoachError):
    """The exercise history cannot be opened or written."""


def default_path() -> Path:
    """$XDG_DATA_HOME/voicecoach/history.sqlite3, else ~/.local/share/voicecoach/history.sqlite3."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "voicecoach" / FILE_NAME


def local_now() -> datetime:
    """The wall clock, with the local UTC offset."""
    return datetime.now().astimezone()


def aware(moment: datetime | None) -> datetime:
    """`moment` (now, if None) with its UTC offset; a naive time is taken as local."""
    if moment is None:
        return local_now()
    return moment if moment.tzinfo is not None else moment.astimezone()


def iso(moment: datetime | None) -> str:
    """`moment` (now, if None) as stored: ISO 8601 to the second, with the UTC offset."""
    return aware(moment).isoformat(timespec="seconds")


def open_database(path: Path, now: datetime | None = None) -> tuple[sqlite3.Connection, Path | None]:
    """The file at `path`, created and migrated, and where an unreadable file was moved aside, if it was."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise HistoryError(f"Cannot create the history folder {path.parent}: {error.strerror}.") from None
    try:
        return _connect(path), None
    except _Corrupt as problem:
        aside = _move_aside(path, aware(now))
        log.warning(
            "The history at %s could not be read (%s); moved it to %s and started afresh.", path, problem, aside
        )
        try:
            return _connect(path), aside
        except _Corrupt as again:
            raise HistoryError(f"Cannot start a new history at {path}: {again}.") from None


class _Corrupt(Exception):
    """The file is not a readable SQLite database."""


def _connect(path: Path) -> sqlite3.Connection:
    try:
        db = sqlite3.connect(path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
    except sqlite3.Error as error:
        raise HistoryError(f"Cannot open the history at {path}: {error}.") from None
    try:
        db.row_factory = sqlite3.Row
        db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        _check_version(db, path)  # before WAL mode rewrites the header of a file we must leave alone
        mode = db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if mode.lower() != "wal":
            log.warning("The history at %s is in %s journal mode, not WAL.", path, mode)
        db.execute("PRAGMA synchronous = FULL")
        db.execute("PRAGMA foreign_keys = ON")
        check = db.execute("PRAGMA quick_check").fetchone()[0]
        if check != "ok":
            raise _Corrupt(check)
        _migrate(db, path)
        return db
    except sqlite3.DatabaseError as error:
        db.close()
        if isinstance(error, sqlite3.OperationalError) and not _looks_corrupt(error):
            raise HistoryError(f"Cannot open the history at {path}: {error}.") from None
        raise _Corrupt(str(error)) from None
    except BaseException:
        db.close()
        raise


def _looks_corrupt(error: sqlite3.Error) -> bool:
    text = str(error).lower()
    return any(w in text for w in ("malformed", "not a database", "corrupt"))


def _check_version(db: sqlite3.Connection, path: Path) -> None:
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version > len(MIGRATIONS):
        raise HistoryError(
            f"The history at {path} was written by a newer voicecoach (schema {version}); update voicecoach."
        )


def _migrate(db: sqlite3.Connection, path: Path) -> None:
    version = db.execute("PRAGMA user_version").fetchone()[0]
    for target in range(version + 1, len(MIGRATIONS) + 1):
        db.execute("BEGIN IMMEDIATE")
        try:
            for statement in MIGRATIONS[target - 1]:
                db.execute(statement)
            db.execute(f"PRAGMA user_version = {target}")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
        log.info("history %s: schema %d", path, target)


def _move_aside(path: Path, now: datetime) -> Path:
    stamp = now.strftime("%Y%m%dT%H%M%S")
    aside = path.with_name(f"{path.name}.corrupt-{stamp}")
    n = 1
    while aside.exists():
        aside, n = path.with_name(f"{path.name}.corrupt-{stamp}-{n}"), n + 1
    try:
        for suffix in ("", "-wal", "-shm"):
            part = Path(f"{path}{suffix}")
            if part.exists():
                part.replace(Path(f"{aside}{suffix}"))
    except OSError as error:
        raise HistoryError(
            f"The history at {path} is unreadable and cannot be moved aside: {error.strerror}."
        ) from None
    return aside
