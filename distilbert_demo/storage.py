"""Everything the app writes goes under one folder it owns, and leaves it when no longer needed.

A public server runs for weeks: a visitor's distilled student (its saved model and zip, in a
folder named by a handle) is dropped when they start another run, when their tab closes, when it
is older than the session time-to-live, or when more than MAX_STUDENTS are kept (oldest first);
downloads (CSV files) go the same way; the whole folder is removed when the process ends
normally. Gradio's own cache (copies of files handed to the page) lives inside it too, with the
same expiry.

Only the server process registers, sweeps and removes: on ZeroGPU a handler's model work runs in
a forked worker that shares this disk but not the server's memory, so the server makes a folder
before the call, hands its path to the worker, and registers what came back (gpu.py). A Stop
click reaches a worker the same way, as a file (StopFlag).

    DISTILBERT_DEMO_DATA_DIR      the folder (default: <system temp>/distilbert-demo-<pid>)
    DISTILBERT_DEMO_SESSION_TTL   seconds a session's files and state live (default 3600)
    DISTILBERT_DEMO_MAX_STUDENTS  students kept at once, on disk and in memory (default 4)
    DISTILBERT_DEMO_MAX_SESSIONS  sessions whose page state Gradio keeps in memory (default 500)
    DISTILBERT_DEMO_CACHE_DIR     where the operator's checkpoints' ONNX exports and compiled
                                  packages are kept across restarts (default ~/.cache/distilbert-demo/builds)
    DISTILBERT_DEMO_CACHE_BYTES   its cap, least recently used folders removed first (default 6 GiB)
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import gc
import logging
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

SESSION_TTL_S = float(os.environ.get("DISTILBERT_DEMO_SESSION_TTL", "3600"))
MAX_STUDENTS = int(os.environ.get("DISTILBERT_DEMO_MAX_STUDENTS", "4"))
# Gradio keeps a copy of the page's settings for every session it has seen (about 0.75 MiB here):
# at most this many, oldest dropped first, so memory does not grow with the number of visitors.
MAX_SESSIONS = int(os.environ.get("DISTILBERT_DEMO_MAX_SESSIONS", "500"))
SESSION_COPY_BYTES = int(0.75 * 2**20)  # one such copy, measured by the soak test's sessions (README)
EVICTED = (
    "Your distilled student is no longer on this server: it keeps at most {cap} students for at most "
    "{ttl} minutes, and yours made room for newer ones. Run the distillation again to get it back."
)


def release_memory() -> None:
    """Hand freed memory back to the system, not just to the allocator: glibc keeps freed heap pages
    for reuse, which on a server that runs for weeks looks like a leak."""
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):  # not glibc: nothing to trim
        ctypes.CDLL("libc.so.6").malloc_trim(0)


# The operator's checkpoints' ONNX exports and compiled packages outlive the process (a restarted
# server does not export or compile BERT again), in a folder of their own, capped: the oldest
# folders go first past the cap.
KEPT_EXPORTS = Path(
    os.environ.get("DISTILBERT_DEMO_CACHE_DIR")
    or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "distilbert-demo" / "builds"
)
MAX_KEPT_EXPORT_BYTES = int(float(os.environ.get("DISTILBERT_DEMO_CACHE_BYTES", str(6 * 2**30))))


def build_cache(model=None) -> Path:
    """Where ONNX exports and compiled packages of `model` are kept, one folder per checkpoint and
    weights: a visitor's student in the app's own folder (gone with its session's server), the
    operator's checkpoints in KEPT_EXPORTS, reused across restarts."""
    name = getattr(model, "name", None)
    if name is None or Path(name).resolve().is_relative_to(STORAGE.root.resolve()):
        return STORAGE.root / "builds"
    prune_exports()
    return KEPT_EXPORTS


def prune_exports(root: Path = KEPT_EXPORTS, max_bytes: int = MAX_KEPT_EXPORT_BYTES) -> list[Path]:
    """Remove the least recently used export folders until `root` holds at most `max_bytes`."""
    if not root.is_dir():
        return []
    folders = [f for f in root.iterdir() if f.is_dir()]
    size = {f: sum(p.stat().st_size for p in f.rglob("*") if p.is_file()) for f in folders}
    removed = []
    for folder in sorted(folders, key=lambda f: f.stat().st_mtime):  # oldest use first
        if sum(size[f] for f in folders if f not in removed) <= max_bytes:
            break
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(folder)
    return removed


def default_root() -> Path:
    configured = os.environ.get("DISTILBERT_DEMO_DATA_DIR")
    return Path(configured) if configured else Path(tempfile.gettempdir()) / f"distilbert-demo-{os.getpid()}"


@dataclass
class Entry:
    """Something a session left on the server: a folder (a student's, or a download's)."""

    session: str
    folder: Path
    created: float = field(default_factory=time.monotonic)


@dataclass(frozen=True)
class StopFlag:
    """A visitor's Stop click, seen by every process: set when its file exists. It has the part of
    threading.Event that a run asks (`is_set`) and that Stop calls (`set`), and it pickles, so it
    can be handed to a ZeroGPU worker."""

    path: Path

    def is_set(self) -> bool:
        return self.path.exists()

    def set(self) -> None:
        self.path.touch()


class Storage:
    """The app's folder, its students (capped) and downloads, swept by age and by session."""

    def __init__(self, root: Path | None = None, ttl_s: float = SESSION_TTL_S, max_students: int = MAX_STUDENTS):
        self.root = Path(root or default_root())
        self.ttl_s, self.max_students = ttl_s, max_students
        self._lock = threading.Lock()
        os.register_at_fork(after_in_child=self._new_lock)  # see measure.FairLock
        self._students: dict[str, Entry] = {}  # handle -> entry, oldest first
        self._downloads: list[Entry] = []
        self._pending = 0  # student folders being written
        self._sweeper: threading.Thread | None = None
        self._on_drop: list[Callable[[Path], None]] = []  # told of each dropped student folder
        self._also_sweep: list[Callable[[], None]] = []  # what else expires on the sweeper's rounds

    def _new_lock(self) -> None:
        self._lock = threading.Lock()

    # -- folders ------------------------------------------------------------------------------

    def new_folder(self, kind: str) -> Path:
        """A fresh folder under root/kind (students, downloads)."""
        folder = self.root / kind / uuid.uuid4().hex
        folder.mkdir(parents=True)
        self.start_sweeper()
        return folder

    def download(self, session: str, name: str, content: bytes | None = None) -> Path:
        """A path for a file handed to one visitor (a CSV), removed with their session or by age;
        with `content`, written there."""
        folder = self.new_folder("downloads")
        with self._lock:
            self._downloads.append(Entry(session, folder))
        if content is not None:
            (folder / name).write_bytes(content)
        return folder / name

    def stop_flag(self) -> StopFlag:
        """A new, unset Stop flag (its file is made by a click, removed by `clear_stop`)."""
        (self.root / "stops").mkdir(parents=True, exist_ok=True)
        return StopFlag(self.root / "stops" / uuid.uuid4().hex)

    @staticmethod
    def clear_stop(flag: StopFlag) -> None:
        flag.path.unlink(missing_ok=True)

    # -- students -----------------------------------------------------------------------------

    def student_folder(self, session: str) -> Path:
        """Room for a new student, made before it is written: the session's previous student goes, and
        at MAX_STUDENTS the oldest, so there are never more than MAX_STUDENTS on disk."""
        with self._lock:
            for old, entry in list(self._students.items()):
                if entry.session == session:
                    self._drop(self._students.pop(old))
            while self._students and len(self._students) + self._pending >= self.max_students:
                oldest = next(iter(self._students))
                log.info("student %s evicted: at most %d are kept", oldest, self.max_students)
                self._drop(self._students.pop(oldest))
            self._pending += 1
        return self.new_folder("students")

    def keep_student(self, session: str, folder: Path) -> str:
        """Keep a finished student written to `student_folder`; returns the handle the page holds."""
        handle = uuid.uuid4().hex
        with self._lock:
            self._pending -= 1
            self._students[handle] = Entry(session, folder)
        return handle

    def abandon_folder(self, folder: Path) -> None:
        """A student folder whose run failed or stopped before it was kept."""
        with self._lock:
            self._pending -= 1
        shutil.rmtree(folder, ignore_errors=True)

    def student(self, handle: str | None) -> Path | None:
        """The folder of the student behind a handle, or None when there is none; LookupError when it
        was evicted."""
        if not handle:
            return None
        with self._lock:
            entry = self._students.get(handle)
        if entry is None:
            raise LookupError(self.evicted_message())
        return entry.folder

    def evicted_message(self) -> str:
        return EVICTED.format(cap=self.max_students, ttl=round(self.ttl_s / 60))

    def on_drop(self, listener: Callable[[Path], None]) -> None:
        """Call `listener(folder)` whenever a student folder is dropped (to forget a model loaded from it)."""
        self._on_drop.append(listener)

    def students_on_disk(self) -> int:
        folder = self.root / "students"
        return sum(1 for _ in folder.iterdir()) if folder.is_dir() else 0

    # -- expiry -------------------------------------------------------------------------------

    def forget_session(self, session: str) -> None:
        """The visitor closed their tab: their student and downloads go now."""
        with self._lock:
            for handle, entry in list(self._students.items()):
                if entry.session == session:
                    self._drop(self._students.pop(handle))
            keep = [e for e in self._downloads if e.session != session]
            for entry in self._downloads:
                if entry.session == session:
                    self._drop(entry)
            self._downloads = keep

    def sweep(self, now: float | None = None) -> None:
        """Drop everything older than the time-to-live."""
        cutoff = (now if now is not None else time.monotonic()) - self.ttl_s
        with self._lock:
            for handle, entry in list(self._students.items()):
                if entry.created < cutoff:
                    self._drop(self._students.pop(handle))
            old = [e for e in self._downloads if e.created < cutoff]
            for entry in old:
                self._drop(entry)
            self._downloads = [e for e in self._downloads if e.created >= cutoff]

    def close(self) -> None:
        """Normal shutdown: the whole folder goes."""
        with self._lock:
            self._students.clear()
            self._downloads.clear()
        shutil.rmtree(self.root, ignore_errors=True)

    def _drop(self, entry: Entry) -> None:
        shutil.rmtree(entry.folder, ignore_errors=True)
        for listener in self._on_drop:
            listener(entry.folder)

    def also_sweep(self, sweep: Callable[[], None]) -> None:
        """Run `sweep` on each round of the sweeper too (kept.py: views in memory expire alike)."""
        self._also_sweep.append(sweep)

    def start_sweeper(self) -> None:
        """The thread that sweeps every so often (started by the first thing that needs it)."""
        if self._sweeper is not None:
            return
        interval = max(1.0, min(60.0, self.ttl_s / 4))

        def loop():
            while True:
                time.sleep(interval)
                self.sweep()
                for sweep in self._also_sweep:
                    sweep()
                release_memory()

        self._sweeper = threading.Thread(target=loop, daemon=True, name="storage-sweeper")
        self._sweeper.start()


STORAGE = Storage()
atexit.register(STORAGE.close)


def exit_on_sigterm() -> None:
    """Hosts stop a server with SIGTERM (Spaces, docker, systemd; and a shell's background job
    ignores SIGINT): exit as on Ctrl-C, so that finally blocks and the atexit above clean up."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
