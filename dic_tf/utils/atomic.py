"""Atomic writes with the usual permissions (what `tempfile` does not give).

`tempfile.mkstemp`/`mkdtemp` create private entries (0600/0700); a file or
folder renamed into place from them would keep those modes. These helpers
give staged entries the modes `open`/`os.makedirs` would (0666/0777 minus the
umask, 0644/0755 by default) before they are renamed into place.

Example:
    write_json("out/results.json", {"psnr": 27.1}, indent=2)
    staging = make_staging_dir("out", prefix=".report.")   # 0755, renamed later
    write_new_file("lr/a.png", png_bytes)  # never replaces an existing file
"""

import json
import os
import tempfile


def _read_umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


UMASK = _read_umask()
FILE_MODE = 0o666 & ~UMASK
DIR_MODE = 0o777 & ~UMASK


def make_staging_dir(parent, prefix):
    """A new folder inside `parent` (created if needed) with the usual folder mode.

    Example:
        staging = make_staging_dir("out", prefix=".report.")  # 0755, renamed later
    """
    os.makedirs(parent, exist_ok=True)
    path = tempfile.mkdtemp(prefix=prefix, dir=parent)
    os.chmod(path, DIR_MODE)
    return path


def fsync_dir(path):
    """Flushes a folder's entries (renames into it) to disk.

    Example:
        fsync_dir("out")
    """
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _temporary_copy(path, data):
    """A hidden, fsynced file holding `data` (bytes) beside `path`, mode 0666 minus umask."""
    directory = os.path.dirname(path) or "."
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{os.path.basename(path)}.", suffix=".tmp")
    try:
        os.chmod(tmp, FILE_MODE)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
    except BaseException:
        os.unlink(tmp)
        raise
    return tmp


def write_file(path, data):
    """Replaces `path` with `data` (bytes) atomically: readers see the old file or the new one.

    Example:
        write_file("runs/dic/metrics.jsonl", b'{"step": 100}\n')
    """
    tmp = _temporary_copy(path, data)
    try:
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def write_json(path, obj, **dump_kwargs):
    """Writes `obj` as JSON (plus a newline) to `path` atomically (`write_file`).

    Args:
        path: destination; its folder must exist.
        obj: JSON-serialisable value.
        **dump_kwargs: passed to `json.dumps` (indent, sort_keys, allow_nan, default, ...).

    Example:
        write_json("out/results.json", {"psnr": 27.1}, indent=2)
    """
    write_file(path, (json.dumps(obj, **dump_kwargs) + "\n").encode("utf-8"))


def write_new_file(path, data):
    """Writes `data` (bytes) to `path` atomically without ever replacing a file.

    The bytes go to a hidden temporary file in the same folder (mode 0666
    minus umask), which is then hard-linked to `path`: the link fails if
    `path` exists, so a file that appeared meanwhile is never overwritten,
    and `path` is either absent or complete. On a file system without hard
    links, `path` is checked for and the temporary file renamed onto it.

    Raises:
        FileExistsError: `path` exists (it is left as it was).

    Example:
        write_new_file("lr/a.png", png_bytes)
    """
    tmp = _temporary_copy(path, data)
    try:
        try:
            os.link(tmp, path)
        except FileExistsError:
            raise FileExistsError(f"{path!r} already exists; it was left as it was.") from None
        except OSError:  # no hard links here (some network or FUSE file systems)
            if os.path.lexists(path):
                raise FileExistsError(f"{path!r} already exists; it was left as it was.") from None
            os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
