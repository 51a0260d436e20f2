"""Which model super-resolves a face of a photo, or why none does (measured rule).

Each model takes a square LR of its own side (`lr_size` = 128 / its scale:
16 px at x8, 32 at x4, 64 at x2) and sees the face in a window of the photo
of `lr_size x 2^k` pixels (`photo.window_transform`), `k` the whole octave
nearest to `c / lr_size` for the face's crop side `c` (the official 128-px
crop square mapped into the photo, `alignment.crop_side`). The rule:

1. with `--upscale=1` no face is super-resolved (the photo keeps its size:
   nothing for a model to add);
2. a model is usable for the face when `k <= 0`, i.e. `c < lr_size x 2^0.5`:
   with `k >= 1` its window is shrunk by 2^k before the model and at least
   3/4 of the face's pixels are gone, which no model made up for on 100
   held-out faces (2.3-7.5 dB below bicubic upscaling, docs/photos.md);
3. among the usable models, the one whose LR size best fits the face: the
   smallest `|log2(c / lr_size)|` (a tie goes to the larger LR, which keeps
   more pixels);
4. a face no model can use (`c >= 2^0.5 x` the largest LR size) is left as
   the bicubic background of the output photo and reported with its reason;
5. a model whose own validation (the training run's `metrics.jsonl` line of
   its checkpoint, or an export's report) is not above bicubic on the same
   faces is never used (`validation_refusal`): its faces go to the
   best-fitting model that is not refused, or stay bicubic when every model
   that fits them is. A reduced x2 model 0.41 dB below bicubic on its
   validation (an early one, Adam 1e-4) made faces of 48 and 64 px 0.76 and
   0.56 dB worse than bicubic upscaling (docs/photos.md). A model without a
   record (the authors' `.pth`, a checkpoint copied out of its run) is used.

Example:
    >>> choose_model(30.0, [16, 32], upscale=2)
    (1, '')
    >>> choose_model(100.0, [16, 32], upscale=2)[1]
    'crop side 100.0 px is at least 2^0.5 x the largest model LR (32 px): every model would discard most of its pixels'
    >>> choose_model(60.0, [32, 64], upscale=2, refusals=["", "is below bicubic"])[1]
    'the model that fits it (64-px LR) is below bicubic'
"""

import math

NO_UPSCALE = "--upscale=1: the photo keeps its size, so there is nothing to super-resolve"


def octave(crop_side, lr_size):
    """`k`: the whole octave nearest to `crop_side / lr_size` (the window is `lr_size x 2^k` px).

    Example:
        >>> octave(24.0, 16), octave(22.0, 16), octave(10.0, 32)
        (1, 0, -2)
    """
    return round(math.log2(crop_side / lr_size))


def validation_refusal(validation):
    """Why a model is never used ("" when it may be), from its validation record.

    Args:
        validation: {"psnr", "bicubic_psnr", "step", ...} on the model's
            validation faces (`dic_tf.models.saving.checkpoint_validation`, an
            export report's "validation"), or None (no record: allowed).

    Example:
        >>> validation_refusal({"step": 1000, "psnr": 29.23, "bicubic_psnr": 29.64})
        'is not above bicubic on its validation faces (29.23 dB against 29.64 dB at step 1000)'
        >>> validation_refusal(None)
        ''
    """
    if validation is None:
        return ""
    psnr, bicubic = validation.get("psnr"), validation.get("bicubic_psnr")
    if psnr is None or bicubic is None:  # an export keeps a non-finite PSNR as null
        return f"has no finite PSNR in its validation record ({validation})"
    if psnr > bicubic:
        return ""
    return (f"is not above bicubic on its validation faces ({psnr:.2f} dB against {bicubic:.2f} dB "
            f"at step {validation['step']})")


def choose_model(crop_side, lr_sizes, upscale, refusals=None):
    """The index of the model for a face, or None and why.

    Args:
        crop_side: the face's crop side in photo pixels.
        lr_sizes: each model's LR side, in the models' order.
        upscale: the output photo's factor (1, 2, 4 or 8).
        refusals: per model, why it is never used ("" when it may be;
            `validation_refusal`); None: every model may be.

    Returns:
        `(index, "")`, or `(None, reason)` when the face stays bicubic.
    """
    if upscale == 1:
        return None, NO_UPSCALE
    refusals = refusals or [""] * len(lr_sizes)
    fitting = [i for i, lr_size in enumerate(lr_sizes) if octave(crop_side, lr_size) <= 0]
    if not fitting:
        return None, (f"crop side {crop_side:.1f} px is at least 2^0.5 x the largest model LR "
                      f"({max(lr_sizes)} px): every model would discard most of its pixels")

    def best(indices):
        return min(indices, key=lambda i: (abs(math.log2(crop_side / lr_sizes[i])), -lr_sizes[i]))

    usable = [i for i in fitting if not refusals[i]]
    if not usable:
        refused = best(fitting)
        return None, f"the model that fits it ({lr_sizes[refused]}-px LR) {refusals[refused]}"
    return best(usable), ""
