"""Keeps the CPU step's large buffers mapped: glibc malloc settings applied before TensorFlow starts.

TensorFlow's CPU allocator and XLA's take their buffers from the C library's
`malloc`. With glibc's defaults every buffer above 32 MiB (a 256x256x48 map
of an x8 step at batch 2 is 24 MiB, at batch 8 96 MiB) is its own `mmap`,
returned to the kernel by `free`, and faulted in again, page by page and
zero-filled, at the next step: 0.85 M minor page faults and 15-43% of the
CPU time in the kernel per x8 training step (docs/performance_log.md). Buffers
that threads allocate in glibc's secondary arenas cannot grow past 64 MiB
either and fall back to `mmap`.

`keep_memory_mapped()` sets, through `mallopt`:

* `M_ARENA_MAX = 1`: every thread allocates from the main heap, which grows
  without that 64 MiB limit;
* `M_MMAP_THRESHOLD = 1 GiB`: buffers up to 1 GiB come from that heap;
* `M_TRIM_THRESHOLD = 2 GiB - 1`: freed memory stays with the process for the
  next step (the resident size stays at its peak, plus the heap's
  fragmentation).

Measured on the 2-core CPU (docs/performance_log.md, issue 21): the x8 `fit()`
step at batch 8 69.8 -> 46.4 s, the reduced real-face step 7.4 -> 4.2 s, with
the same numbers (the allocator changes no arithmetic); peak RSS at batch 8
7.4 -> 9.1 GiB (the one heap's fragmentation). On a 2-core Intel Xeon with
AVX-512, where glibc's defaults fault little, it changes the x8 step by under
1% and costs the reduced step about 4%. jemalloc, tcmalloc and TensorFlow's BFC
CPU allocator were measured against it.

The entry points (`train.py`, `evaluate.py`, `export.py`, `predict.py`,
`prepare_data.py`) and the benchmark call it before TensorFlow is imported;
in a notebook, call it first. `DIC_TF_MALLOC=default` keeps glibc's
defaults. Elsewhere than glibc (macOS, musl) it does nothing.

Example:
    from dic_tf.utils import allocator

    allocator.keep_memory_mapped()     # before `import tensorflow`
    import tensorflow as tf
"""

import ctypes
import ctypes.util
import os

MALLOC_ENV = "DIC_TF_MALLOC"
# glibc's mallopt parameters (malloc.h).
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8
SETTINGS = (
    (M_ARENA_MAX, 1),
    (M_MMAP_THRESHOLD, 1 << 30),
    (M_TRIM_THRESHOLD, (1 << 31) - 1),
)


def keep_memory_mapped():
    """Applies `SETTINGS` with glibc's `mallopt`; returns whether all were accepted.

    Does nothing (returns False) when `DIC_TF_MALLOC=default`, or where the C
    library has no `mallopt` (not glibc).

    Example:
        keep_memory_mapped()  # True on Linux with glibc
    """
    if os.environ.get(MALLOC_ENV) == "default":
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    return all(mallopt(parameter, value) == 1 for parameter, value in SETTINGS)
