"""Times DIC inference and training steps; prints a markdown table, writes JSON.

    python -m dic_tf.benchmark --backend=tensorflow --config=x8 \\
        --batch_sizes=1,8,64 --train_batch_sizes=8,32 --json_out=bench.json
    KERAS_BACKEND=jax python -m dic_tf.benchmark --backend=jax --config=x8

Inference is the whole forward pass (every step's SR image and heatmaps) on
random LR faces [B, 16, 16, 3]. A training step is the loss over all steps,
the gradients and the Adam updates of both parameter groups (hourglass
released): `DICTask.train_on_batch`, the `fit()` step, on either backend.
The first call of each shape compiles and is timed apart; the table reports
the median and minimum of `--repeats` further calls. The JAX path is always
`jax.jit`-compiled (`--jit` only selects XLA on TensorFlow) and never imports
TensorFlow, so it runs where TensorFlow is not installed.

Peak memory: on GPU the device allocator's peak (TensorFlow: reset before
each measurement; JAX: `peak_bytes_in_use`, cumulative over the process); on
CPU the process' peak resident set size (cumulative). CPU time of the timed
calls (`resource.getrusage`): `kernel_share` is system / (user + system)
time, `minor_faults_per_call` the minor page faults per call.

A data row (`--data=bicubic,real`) times the training input pipeline alone:
faces per second of `pipeline.make_dataset` (TensorFlow) or `FacePyDataset`
(JAX) with that LR degradation, on `--data_dir` or 64 synthetic faces.

Every row runs in its own process with `dic_tf.cli.allocator.keep_memory_mapped()`
applied first, as the entry points do (`DIC_TF_MALLOC=default` measures
glibc's defaults). `--config=real_faces` is the reduced real-face recipe of
`configs/real_faces.flags` (16 features, 3 groups, hourglass 64, 3 fusion blocks).
"""

import argparse
import json
import multiprocessing
import os
import platform
import resource
import statistics
import sys
import time

from dic_tf.data.degradation import DEGRADATIONS
from dic_tf.models.dic_config import REMAT_MODES, DICConfig

LR_SIZE = 16
CONFIGS = {
    "x8": DICConfig.x8,
    "tiny": DICConfig.tiny,
    # configs/real_faces.flags
    "real_faces": lambda: DICConfig(num_features=16, num_groups=3, hg_num_features=64,
                                    num_fusion_blocks=3),
}


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m dic_tf.benchmark", description=__doc__.split("\n")[0])
    parser.add_argument("--backend", default=os.environ.get("KERAS_BACKEND", "tensorflow"),
                        choices=("tensorflow", "jax"))
    parser.add_argument("--config", default="x8", choices=tuple(CONFIGS))
    parser.add_argument("--batch_sizes", default="1,8,64", help="inference batch sizes ('' for none)")
    parser.add_argument("--train_batch_sizes", default="8,32", help="training batch sizes ('' for none)")
    parser.add_argument("--precision", default="float32", choices=("float32", "bfloat16"))
    parser.add_argument("--jit", action="store_true", help="XLA-compile (TensorFlow; JAX always is)")
    parser.add_argument("--deconv", default="auto", choices=("auto", "subpixel", "transpose"),
                        help="DeconvBlock implementation")
    parser.add_argument("--remat", default="none",
                        help=f"comma-separated DIC remat modes of the training rows ({', '.join(REMAT_MODES)})")
    parser.add_argument("--data", default="",
                        help="comma-separated LR degradations of input-pipeline rows (bicubic, real); "
                             "'' for none")
    parser.add_argument("--data_dir", default=None,
                        help="prepared dataset of the data rows (default: 64 synthetic faces)")
    parser.add_argument("--data_batch_size", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json_out", default=None)
    args = parser.parse_args(argv)
    args.batch_sizes = [int(b) for b in args.batch_sizes.split(",") if b]
    args.train_batch_sizes = [int(b) for b in args.train_batch_sizes.split(",") if b]
    args.remat = [r for r in args.remat.split(",") if r]
    unknown = [r for r in args.remat if r not in REMAT_MODES]
    if unknown:
        parser.error(f"--remat={','.join(unknown)}: expected modes among {', '.join(REMAT_MODES)}.")
    args.data = [d for d in args.data.split(",") if d]
    unknown = [d for d in args.data if d not in DEGRADATIONS]
    if unknown:
        parser.error(f"--data={','.join(unknown)}: expected degradations among {', '.join(DEGRADATIONS)}.")
    return args


def time_calls(fn, repeats):
    """Times `fn` (which must block): the first call, then `repeats` more.

    Returns:
        `(first call seconds, [seconds of each further call], cpu)`: cpu has
        `user_s`, `system_s` and `minor_faults` summed over the further calls.
    """
    start = time.perf_counter()
    fn()
    first = time.perf_counter() - start
    times = []
    before = resource.getrusage(resource.RUSAGE_SELF)
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = {
        "user_s": after.ru_utime - before.ru_utime,
        "system_s": after.ru_stime - before.ru_stime,
        "minor_faults": after.ru_minflt - before.ru_minflt,
    }
    return first, times, cpu


def cpu_name():
    """The CPU model from /proc/cpuinfo, else `platform.processor()`."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "CPU"


def cpu_peak_bytes():
    """Peak resident set size of this process (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


class TensorFlowRunner:
    """Inference and train-step closures on the TensorFlow backend."""

    def __init__(self, jit):
        import tensorflow as tf

        self.tf = tf
        self.jit = jit
        self.gpu = bool(tf.config.list_physical_devices("GPU"))
        self.device = tf.config.experimental.get_device_details(
            tf.config.list_physical_devices("GPU")[0]
        ).get("device_name", "GPU") if self.gpu else cpu_name()

    def reset_memory(self):
        if self.gpu:
            self.tf.config.experimental.reset_memory_stats("GPU:0")

    def peak_memory(self):
        if self.gpu:
            return self.tf.config.experimental.get_memory_info("GPU:0")["peak"]
        return cpu_peak_bytes()

    def inference(self, model, lr):
        forward = self.tf.function(model, jit_compile=self.jit)
        lr = self.tf.constant(lr)
        return lambda: [t.numpy() for t in self.tf.nest.flatten(forward(lr))]

    def train_step(self, model, batch):
        return fit_step(model, {k: self.tf.constant(v) for k, v in batch.items()}, self.jit)


class JaxRunner:
    """Inference and train-step closures on the JAX backend (no TensorFlow)."""

    def __init__(self, jit):
        import jax

        self.jax = jax
        self.gpu = jax.devices()[0].platform == "gpu"
        self.device = jax.devices()[0].device_kind if self.gpu else cpu_name()

    def reset_memory(self):
        pass

    def peak_memory(self):
        if self.gpu:
            return self.jax.devices()[0].memory_stats()["peak_bytes_in_use"]
        return cpu_peak_bytes()

    def inference(self, model, lr):
        jax = self.jax
        trainable = [v.value for v in model.trainable_variables]
        non_trainable = [v.value for v in model.non_trainable_variables]
        forward = jax.jit(lambda t, n, x: model.stateless_call(t, n, x)[0])
        lr = jax.device_put(lr)
        return lambda: jax.block_until_ready(forward(trainable, non_trainable, lr))

    def train_step(self, model, batch):
        return fit_step(model, {k: self.jax.device_put(v) for k, v in batch.items()}, True)


def fit_step(model, batch, jit):
    """One `fit()` train step of the paper's recipe (hourglass released) as a closure."""
    from dic_tf.training.tasks import DICTask

    task = DICTask(model)
    task.compile(release_hourglass_step=0, jit_compile=jit)
    return lambda: task.train_on_batch(batch)


def random_batch(config, batch_size, rng):
    """A training batch dict of random arrays at the LR size `LR_SIZE`."""
    hr = LR_SIZE * config.scale
    return {
        "lr": rng.normal(0, 0.2, (batch_size, LR_SIZE, LR_SIZE, 3)).astype("float32"),
        "hr": rng.normal(0, 0.2, (batch_size, hr, hr, 3)).astype("float32"),
        "heatmaps": rng.uniform(0, 1, (batch_size, hr // 4, hr // 4, config.num_keypoints)).astype(
            "float32"
        ),
    }


def measure_row(args, kind, batch_size, remat):
    """Times one row in this process; returns (row, environment facts).

    Args:
        args: the parsed arguments.
        kind: 'inference' or 'train_step'.
        batch_size: the batch size.
        remat: `DIC` rematerialisation (`REMAT_MODES`).
    """
    os.environ["KERAS_BACKEND"] = args.backend
    from dic_tf.cli import allocator

    kept_mapped = allocator.keep_memory_mapped()
    import keras
    import numpy as np

    from dic_tf.layers import DeconvBlock
    from dic_tf.models import build_dic

    if keras.backend.backend() != args.backend:
        raise SystemExit(
            f"keras was imported with backend {keras.backend.backend()!r}; run with "
            f"KERAS_BACKEND={args.backend}."
        )
    if args.precision == "bfloat16":
        keras.config.set_dtype_policy("mixed_bfloat16")
    runner = (JaxRunner if args.backend == "jax" else TensorFlowRunner)(args.jit)
    config = CONFIGS[args.config]()
    rng = np.random.default_rng(batch_size)
    keras.utils.set_random_seed(0)
    model = build_dic(config, remat=remat)
    for layer in model._flatten_layers():
        if isinstance(layer, DeconvBlock):
            layer.implementation = args.deconv
    if kind == "inference":
        lr = rng.normal(0, 0.2, (batch_size, LR_SIZE, LR_SIZE, 3)).astype("float32")
        fn = runner.inference(model, lr)
    else:
        fn = runner.train_step(model, random_batch(config, batch_size, rng))
    runner.reset_memory()
    first, times, cpu = time_calls(fn, args.repeats)
    median = statistics.median(times)
    cpu_seconds = cpu["user_s"] + cpu["system_s"]
    row = {
        "kind": kind,
        "batch_size": batch_size,
        "remat": remat,
        "first_call_s": first,
        "median_s": median,
        "min_s": min(times),
        "images_per_s": batch_size / median,
        "peak_memory_bytes": int(runner.peak_memory()),
        "kernel_share": cpu["system_s"] / cpu_seconds if cpu_seconds else 0.0,
        "minor_faults_per_call": cpu["minor_faults"] / args.repeats,
        "load_average": os.getloadavg()[0],
    }
    facts = {"device": runner.device, "gpu": runner.gpu, "keras": keras.__version__,
             "malloc": "kept mapped" if kept_mapped else "system default"}
    return row, facts


# Batches of a data row's timed call: one batch is too short to time a prefetching pipeline.
DATA_BATCHES_PER_CALL = 4
DATA_FACES = 64


def measure_data_row(args, batch_size, degradation):
    """Times the training input pipeline of `args.backend` in this process; returns (row, facts).

    TensorFlow: `pipeline.make_dataset` (tf.data, its default AUTOTUNE
    parallelism); JAX: `FacePyDataset` (Keras' default: one worker). A timed
    call takes `DATA_BATCHES_PER_CALL` training batches (read, augment-free
    sample, LR by `degradation`, heatmaps, normalisation); `images_per_s` is
    faces per second.
    """
    os.environ["KERAS_BACKEND"] = args.backend
    from dic_tf.cli import allocator

    kept_mapped = allocator.keep_memory_mapped()
    import tempfile

    import keras

    from dic_tf.data.pydataset import FacePyDataset
    from dic_tf.training.demo import prepare_demo_data

    with tempfile.TemporaryDirectory(prefix="dic_tf-bench-") as scratch:
        data_dir = args.data_dir or prepare_demo_data(scratch, DATA_FACES, 1)[0]
        if args.backend == "tensorflow":
            from dic_tf.data import pipeline

            batches = iter(pipeline.make_dataset(data_dir, batch_size, training=True,
                                                 degradation=degradation))
        else:
            data = FacePyDataset(data_dir, batch_size, training=True, degradation=degradation,
                                 repeat=True, with_names=False)
            batches = (data[i] for i in range(10**9))

        def take():
            for _ in range(DATA_BATCHES_PER_CALL):
                keras.tree.map_structure(keras.ops.convert_to_numpy, next(batches))

        first, times, cpu = time_calls(take, args.repeats)
    median = statistics.median(times)
    cpu_seconds = cpu["user_s"] + cpu["system_s"]
    row = {
        "kind": "data",
        "batch_size": batch_size,
        "remat": "none",
        "degradation": degradation,
        "first_call_s": first,
        "median_s": median,
        "min_s": min(times),
        "images_per_s": DATA_BATCHES_PER_CALL * batch_size / median,
        "peak_memory_bytes": cpu_peak_bytes(),
        "kernel_share": cpu["system_s"] / cpu_seconds if cpu_seconds else 0.0,
        "minor_faults_per_call": cpu["minor_faults"] / args.repeats,
        "load_average": os.getloadavg()[0],
    }
    facts = {"device": cpu_name(), "gpu": False, "keras": keras.__version__,
             "malloc": "kept mapped" if kept_mapped else "system default"}
    return row, facts


def _measure_in_child(queue, args, kind, batch_size, remat):
    try:
        if kind == "data":
            queue.put(("ok", measure_data_row(args, batch_size, remat)))
            return
        queue.put(("ok", measure_row(args, kind, batch_size, remat)))
    except BaseException as error:  # reported by the parent, with the row named
        queue.put(("error", f"{type(error).__name__}: {error}"))


def measure_isolated(args, kind, batch_size, remat):
    """`measure_row` in a fresh process, so that its peak memory is that row's alone."""
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    child = context.Process(target=_measure_in_child, args=(queue, args, kind, batch_size, remat))
    child.start()
    child.join()
    if child.exitcode != 0 or queue.empty():
        return {"kind": kind, "batch_size": batch_size, "remat": remat,
                "error": f"the measuring process ended with exit code {child.exitcode} "
                         "(killed for memory?)"}, None
    status, value = queue.get()
    if status == "error":
        return {"kind": kind, "batch_size": batch_size, "remat": remat, "error": value}, None
    return value


def run(args):
    """Runs every measurement, each in its own process; returns the JSON-serialisable report."""
    os.environ["KERAS_BACKEND"] = args.backend
    jobs = [("inference", b, "none") for b in args.batch_sizes]
    jobs += [("train_step", b, r) for r in args.remat for b in args.train_batch_sizes]
    jobs += [("data", args.data_batch_size, d) for d in args.data]
    rows, facts = [], {"device": cpu_name(), "gpu": False, "keras": None, "malloc": None}
    for kind, batch_size, remat in jobs:
        row, row_facts = measure_isolated(args, kind, batch_size, remat)
        rows.append(row)
        facts = row_facts or facts
        print(format_row(row), file=sys.stderr, flush=True)
    return {
        "backend": args.backend,
        "device": facts["device"],
        "gpu": facts["gpu"],
        "config": args.config,
        "precision": args.precision,
        "jit": args.jit or args.backend == "jax",
        "deconv": args.deconv,
        "repeats": args.repeats,
        "cpu_count": os.cpu_count(),
        "keras": facts["keras"],
        "malloc": facts["malloc"],
        "python": platform.python_version(),
        "rows": rows,
    }


TABLE_HEADER = (
    "| kind | batch | remat | median ms | min ms | images/s | first call s | peak memory MiB "
    "| kernel share | minor faults/call | load |\n"
    "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|"
)


def format_row(row):
    kind = f"data ({row.get('degradation', row['remat'])})" if row["kind"] == "data" else row["kind"]
    if "error" in row:
        return f"| {kind} | {row['batch_size']} | {row['remat']} | {row['error']} | | | | | | | |"
    return (
        f"| {kind} | {row['batch_size']} | {row['remat']} | {1e3 * row['median_s']:.1f} | "
        f"{1e3 * row['min_s']:.1f} | {row['images_per_s']:.2f} | {row['first_call_s']:.1f} | "
        f"{row['peak_memory_bytes'] / 2**20:.0f} | {100 * row['kernel_share']:.1f}% | "
        f"{row['minor_faults_per_call']:.0f} | {row['load_average']:.2f} |"
    )


def format_table(report):
    memory = "device peak" if report["gpu"] else "process RSS peak"
    title = (
        f"DIC {report['config']} on {report['backend']} ({report['device']}), {report['precision']}, "
        f"jit={report['jit']}, deconv={report['deconv']}, {report['repeats']} repeats, "
        f"memory = {memory}, malloc {report['malloc']}"
    )
    return "\n".join([title, "", TABLE_HEADER] + [format_row(r) for r in report["rows"]])


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    report = run(args)
    print(format_table(report))
    if args.json_out:
        with open(args.json_out, "w") as f:
            json.dump(report, f, indent=2)
    return report


if __name__ == "__main__":
    main()
