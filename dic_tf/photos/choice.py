"""Which model super-resolves a face of a photo, or why none does (provisional rule).

Each model takes a square LR of its own side (`lr_size` = 128 / its scale:
16 px at x8, 32 at x4, 64 at x2) and returns the 128x128 official crop. A
face's crop side `c` is the side, in photo pixels, of the official 128-px
crop square mapped into the photo (`alignment.crop_side`). The rule:

1. with `--upscale=1` no face is super-resolved (the photo keeps its size:
   nothing for a model to add);
2. a model is usable for the face when `lr_size >= c / 2`: sampling the face
   down to its LR would otherwise throw away most of the face's pixels (more
   than 3/4 of them);
3. among the usable models, the one whose LR size best fits the face: the
   smallest `|log2(c / lr_size)|` (a tie goes to the larger LR, which keeps
   more pixels);
4. a face no model can use (`c > 2 x` the largest LR size) is left as the
   bicubic background of the output photo and reported with its reason.

The rule is provisional: it follows what the models are trained for (an LR
of `lr_size` pixels from a face of about that size), not a measurement of the
output photos. Issue 34's table (face sizes x upscales, ours vs bicubic on
held-out photos) decides it; until then a chosen model is not known to beat
bicubic at every face size and upscale.

Example:
    >>> choose_model(30.0, [16, 32], upscale=2)
    (1, '')
    >>> choose_model(100.0, [16, 32], upscale=2)[1]
    'crop side 100.0 px is more than twice the largest model LR (32 px): every model would discard most of its pixels'
"""

import math

NO_UPSCALE = "--upscale=1: the photo keeps its size, so there is nothing to super-resolve"


def choose_model(crop_side, lr_sizes, upscale):
    """The index of the model for a face, or None and why.

    Args:
        crop_side: the face's crop side in photo pixels.
        lr_sizes: each model's LR side, in the models' order.
        upscale: the output photo's factor (1, 2, 4 or 8).

    Returns:
        `(index, "")`, or `(None, reason)` when the face stays bicubic.
    """
    if upscale == 1:
        return None, NO_UPSCALE
    usable = [i for i, lr_size in enumerate(lr_sizes) if lr_size >= crop_side / 2]
    if not usable:
        return None, (f"crop side {crop_side:.1f} px is more than twice the largest model LR "
                      f"({max(lr_sizes)} px): every model would discard most of its pixels")
    best = min(usable, key=lambda i: (abs(math.log2(crop_side / lr_sizes[i])), -lr_sizes[i]))
    return best, ""
