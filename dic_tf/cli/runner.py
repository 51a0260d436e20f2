"""What every entry point shares: flag parsing, one-line errors, a quiet TensorFlow.

`run(check, main)` parses the flags, calls `check()` (cheap validation),
sizes TensorFlow's thread pools by the thread flags (`dic_tf.cli.common_flags`),
keeps the large buffers mapped (`dic_tf.utils.allocator`), then calls `main()`.
Keras and TensorFlow were imported by `import dic_tf`, their C++ start-up
lines (CUDA stubs, CPU features, oneDNN) hidden (`dic_tf.utils.startup`). A flag error, an
`app.UsageError` or one of the expected errors becomes one line on stderr,
`<program>: error: <message>`, and exit status 1 (2 for flag syntax); no
traceback. `DIC_TF_TF_LOGS=1` shows the start-up lines.

Example:
    def check():
        if FLAGS.batch_size < 1:
            raise app.UsageError(f"--batch_size={FLAGS.batch_size}: expected >= 1.")

    def main():
        ...

    run(check, main)
"""

import os
import sys

from absl import app, flags

from dic_tf.cli import common_flags
from dic_tf.utils import allocator

EXPECTED_ERRORS = (app.UsageError, ValueError, OSError, ImportError)
"""Errors of bad input: their message names the flag or file."""


def program():
    """The name the user typed: `train.py`, `dic-tf-train`, `python -m dic_tf.benchmark`, ..."""
    name = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else "dic_tf"
    spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    if name == "__main__.py" and spec is not None:
        return f"python -m {spec.name.removesuffix('.__main__')}"
    return name


def fail(message, status=1):
    """Prints `<program>: error: <message>` on stderr and exits with `status`."""
    sys.stdout.flush()
    print(f"{program()}: error: {message}", file=sys.stderr)
    sys.exit(status)


def _print_help(doc):
    print((doc or "").strip() + "\n")
    by_module = flags.FLAGS.flags_by_module_dict()
    for module in sorted(by_module):
        if module.startswith("dic_tf"):
            print(flags.FLAGS.module_help(module) + "\n")


def _parse(doc, argv):
    if any(arg in ("-h", "--help", "--helpshort", "-?") for arg in argv[1:]):
        _print_help(doc)
        sys.exit(0)
    try:
        remaining = flags.FLAGS(argv)
    except flags.Error as error:
        fail(" ".join(str(error).split()), status=2)
    if len(remaining) > 1:
        fail(f"unexpected arguments {remaining[1:]} (every option is a --flag).", status=2)
    return remaining


def run(check, main, doc=None, errors=EXPECTED_ERRORS):
    """Parses the flags, runs `check()` then `main()`, answering bad input with one line.

    Args:
        check: callable validating the flags without TensorFlow (fast failure).
        main: callable doing the work; its return value is the exit status.
        doc: text of `--help` (the entry point's docstring).
        errors: exception types reported as one line instead of a traceback.
    """

    def guarded(argv):
        del argv
        try:
            check()
            common_flags.apply_thread_flags()
            allocator.keep_memory_mapped()
            return main()
        except errors as error:
            fail(" ".join(str(error).split()) or type(error).__name__)

    app.run(guarded, flags_parser=lambda argv: _parse(doc, argv))
