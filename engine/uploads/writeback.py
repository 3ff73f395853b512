"""Start writing a range of a file to the disk without waiting for it (Linux ``sync_file_range``).

A finished upload is fsync'd before it becomes an asset. If the kernel were left to write the spool file
back on its own schedule, that fsync would find most of the file still only in memory, and the client's
last PATCH would wait while all of it went to the disk. Started as each piece of a chunk is written, the
disk writes run alongside the transfer and the fsync only waits for the last of them.

Nothing here waits or reports errors: a failed write-out stays recorded on the file for the fsync that
makes the upload durable, exactly as with the kernel's own background writeback.
"""

from __future__ import annotations

import ctypes
import functools
import sys
from collections.abc import Callable

SYNC_FILE_RANGE_WRITE = 2  # start write-out of dirty pages in the range; do not wait for it


@functools.cache
def _sync_file_range() -> Callable[[int, int, int, int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        call = ctypes.CDLL(None, use_errno=True).sync_file_range
    except (OSError, AttributeError):
        return None
    call.argtypes = (ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint)
    call.restype = ctypes.c_int
    return call


def start_writeback(fd: int, offset: int, length: int) -> None:
    """Ask the kernel to begin writing ``length`` bytes at ``offset`` of ``fd`` to the disk; a no-op where
    the call does not exist (the fsync at the end then does all the work, as before)."""
    call = _sync_file_range()
    if call is not None and length > 0:
        call(fd, offset, length, SYNC_FILE_RANGE_WRITE)  # a refusal only loses the head start
