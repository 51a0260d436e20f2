"""dic_tf.utils.allocator keeps freed large buffers mapped: no page faults when they are used again."""

import json
import os
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Allocates, fills and frees a 96 MiB buffer (one x8 256x256x48 map at batch 8) five
# times, as a training step does with its large maps; prints the minor faults of the
# last four rounds.
ROUNDS = """
import ctypes, json, resource, sys
from dic_tf.utils import allocator
kept = allocator.keep_memory_mapped()
libc = ctypes.CDLL("libc.so.6")
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = (ctypes.c_void_p,)
size = 96 << 20
def one_round():
    buffer = libc.malloc(size)
    ctypes.memset(buffer, 1, size)
    libc.free(buffer)
one_round()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(4):
    one_round()
faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
print(json.dumps({"kept": kept, "faults": faults}))
"""


def _rounds(**env):
    result = subprocess.run([sys.executable, "-c", ROUNDS], capture_output=True, text=True,
                            cwd=REPO, env=dict(os.environ, **env), timeout=60)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_freed_large_buffers_stay_mapped():
    default = _rounds(DIC_TF_MALLOC="default")
    kept = _rounds()
    assert not default["kept"] and kept["kept"]
    # glibc's defaults unmap the buffer at every free: 4 x 96 MiB of 4 KiB pages faulted in again.
    assert default["faults"] > 4 * (96 << 20) // 4096 // 2
    assert kept["faults"] < 100
