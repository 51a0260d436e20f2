"""A timed DIC training run on the JAX backend from an annotated face folder.

    KERAS_BACKEND=jax python -m dic_tf.training.jax_run --faces=../shared/faces \\
        --holdout=100 --minutes=20 --batch_size=16 --output_dir=/tmp/dic_jax_run

The folder holds `info.json` (`{name: {"bbox": [4], "landmark": [[x, y] x K]}}`)
and `images/`. Every face gets the official preparation (128x128 HR, 16x16 LR,
32x32 heatmaps); a seeded shuffle holds out `--holdout` faces. Training runs
`JaxDICTrainer` on `FacePyDataset` batches of the rest until `--minutes` of
training (compilation included) or `--max_steps`; then the held-out faces are
super-resolved and scored (official PSNR/SSIM on Y, against the bicubic x8
baseline). Writes `metrics.jsonl` (training logs), `results.json` and
`dic.weights.h5` (loadable by the TensorFlow model). TensorFlow is not needed.
"""

import argparse
import json
import os
import time

import numpy as np

from dic_tf.config import DICConfig


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m dic_tf.training.jax_run", description=__doc__.split("\n")[0])
    parser.add_argument("--faces", required=True, help="folder with info.json and images/")
    parser.add_argument("--output_dir", required=True)
    parser.add_argument("--holdout", type=int, default=100)
    parser.add_argument("--minutes", type=float, default=20.0)
    parser.add_argument("--max_steps", type=int, default=None)
    parser.add_argument("--batch_size", type=int, default=16)
    parser.add_argument("--config", default="x8", choices=("x8", "tiny"))
    parser.add_argument("--precision", default="float32", choices=("float32", "bfloat16"))
    parser.add_argument("--learning_rate", type=float, default=1e-4)
    parser.add_argument("--release_hourglass_step", type=int, default=2000)
    parser.add_argument("--flip", action="store_true", help="random horizontal flips")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--log_every", type=int, default=50)
    return parser.parse_args(argv)


def load_faces(folder):
    """(hr uint8 [N, 128, 128, 3], landmarks float32 [N, K, 2], names) of a face folder."""
    from dic_tf.data import preparation

    with open(os.path.join(folder, "info.json")) as f:
        info = json.load(f)
    names = sorted(info)
    hr, landmarks = [], []
    for name in names:
        image = preparation.load_image(os.path.join(folder, "images", name))
        face, points = preparation.crop_and_resize(
            image, np.asarray(info[name]["landmark"], dtype=np.float64), info[name]["bbox"]
        )
        hr.append(face)
        landmarks.append(points)
    return np.stack(hr), np.asarray(landmarks, dtype=np.float32), names


def split(count, holdout, seed):
    """(train indices, held-out indices) of a seeded permutation of `count` faces."""
    if not 0 < holdout < count:
        raise ValueError(f"--holdout={holdout} must be in (0, {count}) for {count} faces.")
    order = np.random.default_rng(seed).permutation(count)
    return np.sort(order[holdout:]), np.sort(order[:holdout])


def evaluate(model, hr, batch_size):
    """Official PSNR/SSIM on Y of DIC's final step and of bicubic x8 on HR faces [N, S, S, 3]."""
    import jax

    from dic_tf import metrics
    from dic_tf.data import preparation, sample

    lr = np.stack([preparation.make_lr(face) for face in hr])
    trainable = [v.value for v in model.trainable_variables]
    non_trainable = [v.value for v in model.non_trainable_variables]
    forward = jax.jit(lambda t, n, x: model.stateless_call(t, n, x)[0]["sr"][-1])
    sr = np.concatenate([
        np.asarray(forward(trainable, non_trainable, sample.normalize(lr[i:i + batch_size])), dtype=np.float32)
        for i in range(0, len(lr), batch_size)
    ])
    sr = metrics.normalized_to_uint8(sr)
    bicubic = np.stack([preparation.resize_bicubic(face, hr.shape[1]) for face in lr])
    return {
        "faces": len(hr),
        "psnr_y": float(np.mean(metrics.psnr_y_batch(sr, hr))),
        "ssim_y": float(np.mean(metrics.ssim_y_batch(sr, hr))),
        "bicubic_psnr_y": float(np.mean(metrics.psnr_y_batch(bicubic, hr))),
        "bicubic_ssim_y": float(np.mean(metrics.ssim_y_batch(bicubic, hr))),
    }


def main(argv=None):
    args = parse_args(argv)
    import jax
    import keras

    from dic_tf.data.augment import AugmentConfig
    from dic_tf.data.pydataset import ArraySource, FacePyDataset
    from dic_tf.models import build_dic
    from dic_tf.training.common import TrainConfig
    from dic_tf.training.jax_trainer import JaxDICTrainer, iterate_batches

    os.makedirs(args.output_dir, exist_ok=True)
    if args.precision == "bfloat16":
        keras.config.set_dtype_policy("mixed_bfloat16")
    hr, landmarks, names = load_faces(args.faces)
    train, held_out = split(len(hr), args.holdout, args.seed)
    data = FacePyDataset(
        ArraySource(hr[train], landmarks[train], [names[i] for i in train]),
        args.batch_size, training=True, augment=AugmentConfig(flip=True) if args.flip else None,
        seed=args.seed,
        with_names=False,
    )
    keras.utils.set_random_seed(args.seed)
    model = build_dic(DICConfig.x8() if args.config == "x8" else DICConfig.tiny())
    trainer = JaxDICTrainer(model, TrainConfig(
        learning_rate=args.learning_rate, release_hourglass_step=args.release_hourglass_step))
    start = time.perf_counter()
    deadline = start + 60 * args.minutes
    step = 0
    with open(os.path.join(args.output_dir, "metrics.jsonl"), "w") as log:
        for batch in iterate_batches(data):
            logs = trainer.step(batch, step)
            step += 1
            if step == 1 or step % args.log_every == 0:
                logs.update(step=step, seconds=time.perf_counter() - start)
                log.write(json.dumps(logs) + "\n")
                log.flush()
            if time.perf_counter() >= deadline or (args.max_steps and step >= args.max_steps):
                break
    trainer.sync()
    seconds = time.perf_counter() - start
    model.save_weights(os.path.join(args.output_dir, "dic.weights.h5"))
    results = {
        "device": jax.devices()[0].device_kind,
        "steps": step,
        "train_seconds": seconds,
        "steps_per_second": step / seconds,
        "train_faces": len(train),
        "final_loss": logs["loss"],
        "held_out": evaluate(model, hr[held_out], args.batch_size),
        "args": vars(args),
    }
    with open(os.path.join(args.output_dir, "results.json"), "w") as f:
        json.dump(results, f, indent=2)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
