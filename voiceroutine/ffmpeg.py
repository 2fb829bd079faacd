"""Running ffmpeg: start it with a clear message when it is missing, and stream PCM into it."""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Callable, Iterable
from typing import IO

from .errors import EncoderError

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None

PIPE_BYTES = 1 << 20

MISSING = (
    "ffmpeg was not found: install it with `sudo apt-get install ffmpeg` "
    "(voiceroutine encodes audio with it); ./scripts/run does this for you"
)


def start(command: list[str], stderr: int | IO, stdout: int | IO = subprocess.DEVNULL) -> subprocess.Popen:
    """ffmpeg reading from a pipe; EncoderError with install advice when it is not installed."""
    try:
        process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=stdout, stderr=stderr)
    except FileNotFoundError:
        raise EncoderError(MISSING) from None
    _widen_pipe(process.stdin)
    return process


def _widen_pipe(pipe: IO) -> None:
    """A 1 MiB pipe (Linux): ffmpeg then reads in large chunks, with fewer switches between the two processes."""
    set_pipe_size = getattr(fcntl, "F_SETPIPE_SZ", None) if fcntl else None
    if set_pipe_size:
        with contextlib.suppress(OSError):
            fcntl.fcntl(pipe.fileno(), set_pipe_size, PIPE_BYTES)


def feed(process: subprocess.Popen, blocks: Iterable[bytes], on_block: Callable[[int], None] | None = None) -> None:
    """Write every block to ffmpeg's input and close it.

    If ffmpeg stops early its exit status says why, so a broken pipe is not an
    error here, nor is an input the caller closed while unwinding; if the
    caller is interrupted, ffmpeg is stopped too.
    """
    try:
        for block in blocks:
            process.stdin.write(block)
            if on_block:
                on_block(len(block))
    except BrokenPipeError:
        pass
    except BaseException as e:
        if isinstance(e, ValueError) and process.stdin.closed:
            return  # closed under this writer thread by the caller, which was interrupted and stops ffmpeg itself
        process.kill()
        process.wait()
        raise
    finally:
        with contextlib.suppress(BrokenPipeError):
            process.stdin.close()
