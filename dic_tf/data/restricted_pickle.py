"""A restricted unpickler for the authors' info pickles: data only, no code.

It admits only plain containers, numbers, strings, bytes and numpy
arrays/scalars/dtypes (protocols 2-5); any other global, and any persistent
id, is refused with `ForbiddenPickleError` before anything runs.
"""

import io
import pickle

import numpy as np


def _latin1_encode(text, encoding):
    """`_codecs.encode` limited to what protocol-2 pickles use to spell bytes."""
    if encoding != "latin1" or not isinstance(text, str):
        raise pickle.UnpicklingError(f"_codecs.encode is admitted only as (str, 'latin1'), got encoding {encoding!r}")
    return text.encode("latin1")


def _numpy_globals():
    """The numpy globals that array, scalar and dtype pickles (protocols 2-5) reference."""
    try:
        from numpy._core import multiarray, numeric
    except ImportError:
        from numpy.core import multiarray, numeric
    allowed = {("numpy", "ndarray"): np.ndarray, ("numpy", "dtype"): np.dtype, ("_codecs", "encode"): _latin1_encode}
    for package in ("numpy.core", "numpy._core"):
        allowed[(f"{package}.multiarray", "_reconstruct")] = multiarray._reconstruct
        allowed[(f"{package}.multiarray", "scalar")] = multiarray.scalar
        allowed[(f"{package}.numeric", "_frombuffer")] = numeric._frombuffer
    return allowed


class ForbiddenPickleError(pickle.UnpicklingError):
    """The pickle references something outside the admitted globals; the message names it.

    Example:
        try:
            restricted_loads(pickle.dumps(print), "inline")
        except ForbiddenPickleError as error:
            print(error)  # "inline: refusing to unpickle forbidden global 'builtins.print'..."
    """


class _RestrictedUnpickler(pickle.Unpickler):
    """Unpickler that resolves only numpy's array/scalar/dtype reconstruction globals.

    Plus `_codecs.encode` limited to latin-1, which protocol 2 uses to spell bytes.
    """

    def __init__(self, file, source):
        super().__init__(file)
        self._source = source
        self._allowed = _numpy_globals()

    def find_class(self, module, name):
        found = self._allowed.get((module, name))
        if found is None:
            raise ForbiddenPickleError(
                f"{self._source}: refusing to unpickle forbidden global '{module}.{name}'; info "
                "pickles may hold only dicts, lists, tuples, numbers, strings and numpy arrays"
            )
        return found

    def persistent_load(self, pid):
        raise ForbiddenPickleError(f"{self._source}: refusing persistent id {pid!r} in pickle")


def restricted_loads(data, source):
    """Unpickles `data` (bytes) admitting only the globals above.

    Args:
        data: the pickle bytes.
        source: name used in error messages (e.g. the file path).

    Returns:
        The unpickled object.

    Raises:
        ForbiddenPickleError: on a forbidden global or persistent id.

    Example:
        >>> restricted_loads(pickle.dumps({"a": [1, 2]}, protocol=2), "inline")
        {'a': [1, 2]}
    """
    return _RestrictedUnpickler(io.BytesIO(data), source).load()
