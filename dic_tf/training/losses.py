"""DIC's iterative losses, written with `keras.ops` (shared by TF and JAX steps)."""

from keras import ops

PIXEL_LOSS_MODES = ("every_step", "final_only")


def dic_losses(outputs, hr, gt_heatmaps, pixel_weight=1.0, heatmap_weight=0.1,
               pixel_loss_mode="every_step"):
    """L1 on every step's image + `heatmap_weight` x MSE on every step's heatmaps.

    Args:
        outputs: the DIC output dict ("sr": T x [B, 8H, 8W, 3], "heatmaps":
            T x [B, 2H, 2W, K]).
        hr: [B, 8H, 8W, 3] target in the normalised space.
        gt_heatmaps: [B, 2H, 2W, K] Gaussian ground-truth heatmaps.
        pixel_weight: weight of each step's L1 term.
        heatmap_weight: weight of each step's heatmap MSE term.
        pixel_loss_mode: 'every_step' (the paper: step t's image against HR)
            or 'final_only' (the authors' DICGAN solver: the final image's L1
            counted once per step).

    Returns:
        (total, terms): the scalar loss, and {"pixel_<t>", "heatmap_<t>",
        "pixel", "heatmap"} of weighted scalar terms (means over the batch).
    """
    if pixel_loss_mode not in PIXEL_LOSS_MODES:
        raise ValueError(f"pixel_loss_mode={pixel_loss_mode!r}; expected one of {PIXEL_LOSS_MODES}.")
    terms = {}
    steps = len(outputs["sr"])
    hr = ops.cast(hr, "float32")
    gt_heatmaps = ops.cast(gt_heatmaps, "float32")
    for t in range(steps):
        sr = outputs["sr"][-1] if pixel_loss_mode == "final_only" else outputs["sr"][t]
        terms[f"pixel_{t}"] = pixel_weight * ops.mean(ops.abs(ops.cast(sr, "float32") - hr))
        heatmaps = ops.cast(outputs["heatmaps"][t], "float32")
        terms[f"heatmap_{t}"] = heatmap_weight * ops.mean(ops.square(heatmaps - gt_heatmaps))
    terms["pixel"] = sum(terms[f"pixel_{t}"] for t in range(steps))
    terms["heatmap"] = sum(terms[f"heatmap_{t}"] for t in range(steps))
    return terms["pixel"] + terms["heatmap"], terms


def landmark_losses(steps, gt_heatmaps):
    """Heatmap MSE of every step (or stack) of a landmark network, summed.

    Args:
        steps: list of T heatmaps [B, h, w, K] (the unrolled feedback hourglass'
            steps, or the stacks of a stacked hourglass).
        gt_heatmaps: [B, h, w, K] Gaussian ground-truth heatmaps.

    Returns:
        (total, terms): the scalar loss, and {"heatmap_<t>"} of scalar terms.
    """
    gt_heatmaps = ops.cast(gt_heatmaps, "float32")
    terms = {
        f"heatmap_{t}": ops.mean(ops.square(ops.cast(h, "float32") - gt_heatmaps))
        for t, h in enumerate(steps)
    }
    return sum(terms.values()), terms


def discriminator_loss(real_logits, fake_logits):
    """Vanilla GAN discriminator loss: BCE(real, 1) + BCE(fake, 0) (batch means, summed).

    Args:
        real_logits, fake_logits: [B, 1] logits of HR and SR faces.
    """
    real = ops.mean(ops.softplus(-ops.cast(real_logits, "float32")))
    fake = ops.mean(ops.softplus(ops.cast(fake_logits, "float32")))
    return real + fake


def generator_gan_loss(fake_logits):
    """Vanilla (non-saturating) GAN generator loss: BCE(D(SR), 1), batch mean."""
    return ops.mean(ops.softplus(-ops.cast(fake_logits, "float32")))
