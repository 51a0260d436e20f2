"""The benchmark's rows: each measured in its own process, gathered into the JSON report.

A row is an inference call, a `fit()` train step, a data-pipeline call or
one photo through `predict.py --photos` (`kind` 'inference', 'train_step',
'data', 'photos') at one batch size; `run(options)`
measures every row the `BenchmarkOptions` ask for, each in a fresh process
(`measure_isolated`) so that its peak memory is its own, and returns the
report whose keys other tools read (docs/performance.md).

Example:
    report = run(BenchmarkOptions(backend="tensorflow", config="tiny", batch_sizes=[1],
                                  train_batch_sizes=[1], repeats=1))
"""

import dataclasses
import multiprocessing
import os
import platform
import statistics
import sys

from dic_tf.benchmark.runners import JaxRunner, TensorFlowRunner, time_calls
from dic_tf.benchmark.table import format_row
from dic_tf.models.dic_config import DICConfig
from dic_tf.training import distribution
from dic_tf.utils import backend

CONFIGS = {
    "x8": DICConfig.x8,
    "x4": DICConfig.x4,
    "x2": DICConfig.x2,
    "tiny": DICConfig.tiny,
    # configs/real_faces.flags
    "real_faces": lambda: DICConfig(num_features=16, num_groups=3, hg_num_features=64,
                                    num_fusion_blocks=3),
}


@dataclasses.dataclass
class BenchmarkOptions:
    """What to measure (the benchmark's flags).

    Attributes:
        backend: 'tensorflow' or 'jax'; KERAS_BACKEND must name it too.
        config: a `CONFIGS` name.
        batch_sizes: inference rows' batch sizes.
        train_batch_sizes: train-step rows' batch sizes (each `remat` mode).
        precision: 'float32' or 'bfloat16' (Keras' mixed policy).
        jit: XLA-compile on TensorFlow (JAX always is).
        deconv: `DeconvBlock.implementation`: 'auto', 'subpixel' or 'transpose'.
        remat: DIC remat modes of the train-step rows.
        data: LR degradations of the data rows.
        data_dir: prepared dataset of the data rows (None: 64 synthetic faces).
        data_batch_size: batch size of the data rows.
        photo: a photo file for the photos row (None: no photos row).
        photo_upscale: `--upscale` of the photos row.
        repeats: timed calls per row after the first.
    """

    backend: str = "tensorflow"
    config: str = "x8"
    batch_sizes: list = dataclasses.field(default_factory=lambda: [1, 8, 64])
    train_batch_sizes: list = dataclasses.field(default_factory=lambda: [8, 32])
    precision: str = "float32"
    jit: bool = False
    deconv: str = "auto"
    remat: list = dataclasses.field(default_factory=lambda: ["none"])
    data: list = dataclasses.field(default_factory=list)
    data_dir: str = None
    data_batch_size: int = 8
    photo: str = None
    photo_upscale: int = 2
    repeats: int = 5


def random_batch(config, batch_size, rng):
    """A training batch dict of random arrays at the config's LR size (128 / scale)."""
    lr_size = config.lr_size
    hr = lr_size * config.scale
    return {
        "lr": rng.normal(0, 0.2, (batch_size, lr_size, lr_size, 3)).astype("float32"),
        "hr": rng.normal(0, 0.2, (batch_size, hr, hr, 3)).astype("float32"),
        "heatmaps": rng.uniform(0, 1, (batch_size, hr // 4, hr // 4, config.num_keypoints)).astype(
            "float32"
        ),
    }


def measure_row(options, kind, batch_size, remat):
    """Times one row in this process; returns (row, environment facts).

    Args:
        options: the `BenchmarkOptions`.
        kind: 'inference' or 'train_step'.
        batch_size: the batch size.
        remat: `DIC` rematerialisation (`REMAT_MODES`).
    """
    from dic_tf.utils import allocator

    kept_mapped = allocator.keep_memory_mapped()
    import keras
    import numpy as np

    from dic_tf.layers import DeconvBlock
    from dic_tf.models import build_dic

    try:
        backend.require(f"--backend={options.backend}", options.backend)
    except ValueError as error:
        raise SystemExit(str(error)) from error
    if options.precision == "bfloat16":
        keras.config.set_dtype_policy("mixed_bfloat16")
    runner = (JaxRunner if options.backend == "jax" else TensorFlowRunner)(options.jit)
    memory = distribution.DeviceMemory()
    config = CONFIGS[options.config]()
    rng = np.random.default_rng(batch_size)
    keras.utils.set_random_seed(0)
    model = build_dic(config, remat=remat)
    for layer in model._flatten_layers():
        if isinstance(layer, DeconvBlock):
            layer.implementation = options.deconv
    if kind == "inference":
        lr = rng.normal(0, 0.2, (batch_size, config.lr_size, config.lr_size, 3)).astype("float32")
        fn = runner.inference(model, lr)
    else:
        fn = runner.train_step(model, random_batch(config, batch_size, rng))
    memory.reset()
    first, times, cpu = time_calls(fn, options.repeats)
    row = {"kind": kind, "batch_size": batch_size, "remat": remat,
           **_timed_fields(first, times, cpu, batch_size, int(memory.peak()))}
    facts = {"device": memory.device, "gpu": memory.gpu, "keras": keras.__version__,
             "malloc": "kept mapped" if kept_mapped else "system default"}
    return row, facts


# Batches of a data row's timed call: one batch is too short to time a prefetching pipeline.
DATA_BATCHES_PER_CALL = 4
DATA_FACES = 64


def measure_data_row(options, batch_size, degradation):
    """Times the training input pipeline of `options.backend` in this process; returns (row, facts).

    `inputs.training_batches`: on TensorFlow `pipeline.make_dataset` (tf.data,
    its default AUTOTUNE parallelism), on JAX `FacePyDataset` (Keras' default:
    one worker). A timed
    call takes `DATA_BATCHES_PER_CALL` training batches (read, augment-free
    sample, LR by `degradation`, heatmaps, normalisation); `images_per_s` is
    faces per second.
    """
    from dic_tf.utils import allocator

    kept_mapped = allocator.keep_memory_mapped()
    import tempfile

    import keras

    from dic_tf.data import inputs
    from dic_tf.data.demo import prepare_demo_data

    with tempfile.TemporaryDirectory(prefix="dic_tf-bench-") as scratch:
        data_dir = options.data_dir or prepare_demo_data(scratch, DATA_FACES, 1)[0]
        batches = iter(inputs.training_batches(data_dir, batch_size, degradation=degradation))

        def take():
            for _ in range(DATA_BATCHES_PER_CALL):
                keras.tree.map_structure(keras.ops.convert_to_numpy, next(batches))

        first, times, cpu = time_calls(take, options.repeats)
    row = {"kind": "data", "batch_size": batch_size, "remat": "none", "degradation": degradation,
           **_timed_fields(first, times, cpu, DATA_BATCHES_PER_CALL * batch_size, distribution.cpu_peak_bytes())}
    return row, _cpu_facts(keras.__version__, kept_mapped)


def measure_photo_row(options):
    """Times one photo through `predict.py --photos` in this process; returns (row, facts).

    A timed call is `batch.super_resolve_photos` on `options.photo` at
    `options.photo_upscale` (reading, MTCNN detection, alignment, the DIC of
    `options.config` with random weights, paste-back, writing the upscaled
    photo and the face crops into a new temporary folder), the detector and
    the model built beforehand, as in one `predict.py --photos` run;
    `batch_size` is the faces found. `parts` holds the median seconds of
    each part of `photos.json`'s `timing` over the timed calls.
    """
    from dic_tf.utils import allocator

    kept_mapped = allocator.keep_memory_mapped()
    import itertools
    import tempfile

    import keras

    from dic_tf.inference import KerasPredictor
    from dic_tf.models import build_dic
    from dic_tf.photos import batch, detection

    keras.utils.set_random_seed(0)
    predictor = KerasPredictor(build_dic(CONFIGS[options.config]()))
    detector = detection.FaceDetector()
    name = os.path.basename(options.photo)
    entries = []
    with tempfile.TemporaryDirectory(prefix="dic_tf-bench-") as scratch:
        folders = (os.path.join(scratch, str(i)) for i in itertools.count())

        def photo():
            report = batch.super_resolve_photos([options.photo], predictor, next(folders), options.photo_upscale,
                                                detector=detector, progress=False)
            if name not in report["photos"]:
                raise ValueError(f"--photo={options.photo}: no face found (or unreadable): nothing to time.")
            entries.append(report["photos"][name])

        first, times, cpu = time_calls(photo, options.repeats)
    timed = entries[1:]
    row = {
        "kind": "photos",
        "batch_size": len(entries[0]["faces"]),
        "remat": "none",
        "upscale": options.photo_upscale,
        "size": entries[0]["size"],
        "parts": {key: statistics.median(e["timing"][key] for e in timed) for key in entries[0]["timing"]},
        **_timed_fields(first, times, cpu, 1, distribution.cpu_peak_bytes()),
    }
    return row, _cpu_facts(keras.__version__, kept_mapped)


def _timed_fields(first, times, cpu, items_per_call, peak_memory_bytes):
    """The timing, memory and CPU fields of a row (`time_calls`' results; `images_per_s` counts `items_per_call`)."""
    median = statistics.median(times)
    cpu_seconds = cpu["user_s"] + cpu["system_s"]
    return {
        "first_call_s": first,
        "median_s": median,
        "min_s": min(times),
        "images_per_s": items_per_call / median,
        "peak_memory_bytes": peak_memory_bytes,
        "kernel_share": cpu["system_s"] / cpu_seconds if cpu_seconds else 0.0,
        "minor_faults_per_call": cpu["minor_faults"] / len(times),
        "load_average": os.getloadavg()[0],
    }


def _cpu_facts(keras_version, kept_mapped):
    """The environment facts of a row measured on the CPU."""
    return {"device": distribution.cpu_name(), "gpu": False, "keras": keras_version,
            "malloc": "kept mapped" if kept_mapped else "system default"}


def _measure_in_child(queue, options, kind, batch_size, remat):
    try:
        if kind == "photos":
            queue.put(("ok", measure_photo_row(options)))
            return
        if kind == "data":
            queue.put(("ok", measure_data_row(options, batch_size, remat)))
            return
        queue.put(("ok", measure_row(options, kind, batch_size, remat)))
    except BaseException as error:  # reported by the parent, with the row named
        queue.put(("error", f"{type(error).__name__}: {error}"))


def measure_isolated(options, kind, batch_size, remat):
    """`measure_row` in a fresh process, so that its peak memory is that row's alone."""
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    child = context.Process(target=_measure_in_child, args=(queue, options, kind, batch_size, remat))
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


def run(options, progress=True):
    """Runs every measurement, each in its own process; returns the JSON-serialisable report.

    Args:
        options: the `BenchmarkOptions`.
        progress: print each row's table line on stderr as it is measured.
    """
    os.environ["KERAS_BACKEND"] = options.backend  # the rows' processes import Keras on it
    jobs = [("inference", b, "none") for b in options.batch_sizes]
    jobs += [("train_step", b, r) for r in options.remat for b in options.train_batch_sizes]
    jobs += [("data", options.data_batch_size, d) for d in options.data]
    jobs += [("photos", 0, "none")] if options.photo else []
    rows, facts = [], {"device": distribution.cpu_name(), "gpu": False, "keras": None, "malloc": None}
    for kind, batch_size, remat in jobs:
        row, row_facts = measure_isolated(options, kind, batch_size, remat)
        rows.append(row)
        facts = row_facts or facts
        if progress:
            print(format_row(row), file=sys.stderr, flush=True)
    return {
        "backend": options.backend,
        "device": facts["device"],
        "gpu": facts["gpu"],
        "config": options.config,
        "precision": options.precision,
        "jit": options.jit or options.backend == "jax",
        "deconv": options.deconv,
        "repeats": options.repeats,
        "cpu_count": os.cpu_count(),
        "keras": facts["keras"],
        "malloc": facts["malloc"],
        "python": platform.python_version(),
        "rows": rows,
    }
