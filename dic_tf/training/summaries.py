"""TensorBoard logging of a run: scalars and validation image strips."""

import numpy as np
import tensorflow as tf

from dic_tf.report.strips import render_strip


class TensorBoardLogger:
    """Writes `<logdir>/train` and `<logdir>/val` event files.

    Args:
        logdir: directory of the event files.
    """

    def __init__(self, logdir):
        self.train = tf.summary.create_file_writer(f"{logdir}/train")
        self.val = tf.summary.create_file_writer(f"{logdir}/val")

    def log_train(self, step, logs, learning_rate):
        with self.train.as_default(step=step):
            for name, value in logs.items():
                tf.summary.scalar(name if "/" in name else f"loss/{name}", value)
            tf.summary.scalar("learning_rate", learning_rate)

    def log_validation(self, step, summary, samples):
        """Scalars of `validation.validate` and one strip image per sample.

        Strips: LR (nearest), bicubic, SR at every step with its landmarks, HR
        with the ground-truth landmarks. A landmark network's summary
        (`validation.validate_landmarks`) gives `nme` and `heatmap_loss`.
        """
        if "psnr" not in summary:
            self._log_landmark_validation(step, summary)
            return
        with self.val.as_default(step=step):
            tf.summary.scalar("psnr", summary["psnr"])
            tf.summary.scalar("ssim", summary["ssim"])
            tf.summary.scalar("bicubic_psnr", summary["bicubic_psnr"])
            for t, value in enumerate(summary["psnr_steps"]):
                tf.summary.scalar(f"psnr_step/{t + 1}", value)
            if summary.get("nme") is not None:
                tf.summary.scalar("nme", summary["nme"])
            for record in samples:
                strip = np.asarray(render_strip(record))
                tf.summary.image(f"strip/{record.name}", strip[None], max_outputs=1)
        self.val.flush()

    def _log_landmark_validation(self, step, summary):
        with self.val.as_default(step=step):
            tf.summary.scalar("heatmap_loss", summary["heatmap_loss"])
            if summary.get("nme") is not None:
                tf.summary.scalar("nme", summary["nme"])
        self.val.flush()

    def flush(self):
        self.train.flush()
        self.val.flush()
