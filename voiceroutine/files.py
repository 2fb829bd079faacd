"""Writing files so that nothing is ever half-written.

Each file goes to a temporary name in its own folder and is renamed over the
target only when complete, so an error, Ctrl-C or a full disk leaves the
previous file exactly as it was and no stray temporary file behind.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import signal
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path


def file_sha256(path: Path) -> str:
    """The sha256 of the file's content, in hex."""
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def _umask() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return umask


_UMASK = _umask()
_FILE_MODE = 0o666 & ~_UMASK
_FOLDER_MODE = 0o777 & ~_UMASK


_STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM}


@contextlib.contextmanager
def temporary(create: Callable[[], str], remove: Callable[[str], None]) -> Iterator[str]:
    """A temporary file or folder made by ``create``, handed to ``remove`` when the block ends.

    Ctrl-C and SIGTERM are held back from just before it is made until the
    block has begun, so no stop can fall between making it and the cleanup
    that removes it.
    """
    hold = hasattr(signal, "pthread_sigmask") and threading.current_thread() is threading.main_thread()
    held = signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS) if hold else None
    try:
        name = create()
    except BaseException:
        if held is not None:
            signal.pthread_sigmask(signal.SIG_SETMASK, held)
        raise
    try:
        if held is not None:
            signal.pthread_sigmask(signal.SIG_SETMASK, held)  # a stop held back arrives here, inside the try
        yield name
    finally:
        remove(name)


def make_file(folder: Path, prefix: str) -> str:
    """A new empty file with a unique name in ``folder`` (for ``temporary``)."""
    fd, name = tempfile.mkstemp(dir=folder, prefix=prefix, suffix=".part")
    os.close(fd)
    return name


def remove_file(name: str) -> None:
    Path(name).unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """A temporary path beside ``path``, renamed onto it only if the block succeeds."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with temporary(lambda: make_file(path.parent, f".{path.name}."), remove_file) as name:
        tmp = Path(name)
        os.chmod(tmp, _FILE_MODE)  # mkstemp makes files private; outputs are ordinary files
        yield tmp
        os.replace(tmp, path)


def write_text(path: Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


@contextlib.contextmanager
def atomic_folder(path: Path) -> Iterator[Path]:
    """A temporary folder beside ``path`` that replaces it (whole) if the block succeeds."""
    path.parent.mkdir(parents=True, exist_ok=True)
    make = lambda: tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")  # noqa: E731
    with temporary(make, lambda name: shutil.rmtree(name, ignore_errors=True)) as name:
        tmp = Path(name)
        os.chmod(tmp, _FOLDER_MODE)
        yield tmp
        old = path.with_name(f".{path.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        if path.exists():
            os.replace(path, old)
        os.replace(tmp, path)
        shutil.rmtree(old, ignore_errors=True)


@contextlib.contextmanager
def exclusive(path: Path) -> Iterator[None]:
    """Hold a lock named after ``path`` so two builds of the same output take turns.

    Each file is replaced atomically anyway; the lock keeps the audio, its
    transcripts and its manifest from one build, never a mix of two. The lock
    file lives in the temporary folder, not beside the outputs.
    """
    try:
        import fcntl
    except ImportError:  # Windows: no advisory locks; each file is still atomic
        yield
        return
    folder = Path(tempfile.gettempdir()) / f"voiceroutine-locks-{os.getuid()}"
    folder.mkdir(mode=0o700, exist_ok=True)
    name = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:32]
    with open(folder / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
