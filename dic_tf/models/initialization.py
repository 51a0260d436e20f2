"""Weight initialisations of a fresh DIC before training.

The authors' solver (SRLandmarkSolver) calls `init_weights(model, 'kaiming')`
on the whole DIC before it loads the pretrained hourglass: every convolution
and transposed convolution kernel is drawn from N(0, 2 / fan_in)
(`kaiming_normal_(a=0, mode='fan_in')`) and every bias is zeroed. dic_tf's
layers are otherwise created with PyTorch's default init
(`layers.initializers.torch_default_initializers`, `init="torch_default"`).

PyTorch's fan-in is `in_channels / groups * k * k` for a Conv2d and
`out_channels * k * k` for a ConvTranspose2d (it reads dimension 1 of the
weight). A `ConvBlock` kernel is `(k, k, C_in / groups, filters)` and a
`DeconvBlock` kernel `(k, k, filters, C_in)`, so for both the PyTorch fan-in is
the product of the first three dimensions (`layers.initializers.pytorch_fan_in`).
"""

import math

import numpy as np

from dic_tf.layers import ConvBlock, DeconvBlock
from dic_tf.layers.initializers import numpy_generator, pytorch_fan_in

INITS = ("kaiming", "torch_default")


def convolution_layers(layer):
    """Every `ConvBlock` and `DeconvBlock` inside `layer` (itself included), in order.

    Example:
        layers = convolution_layers(model)  # every ConvBlock/DeconvBlock, in order
    """
    return [
        sub for sub in layer._flatten_layers(include_self=True, recursive=True)
        if isinstance(sub, (ConvBlock, DeconvBlock))
    ]


def kaiming_init(model, include_hourglass=True, seed=None):
    """Re-draws a built DIC's convolution weights with the authors' kaiming init.

    Every `ConvBlock`/`DeconvBlock` kernel gets N(0, 2 / fan_in) with PyTorch's
    fan-in and a zero bias; PReLU slopes and everything else keep their values.
    The hourglass keeps its current weights unless `include_hourglass`: the
    authors' kaiming init of an untrained feedback hourglass makes the first
    heatmap loss explode (~1e23, their issue #27), so a run without a pretrained
    hourglass keeps PyTorch's default init there.

    Args:
        model: a built `DIC`.
        include_hourglass: also re-draw `model.hourglass`.
        seed: int seed of the (numpy) draws; None draws from numpy's global
            state, which `keras.utils.set_random_seed` seeds.

    Returns:
        The number of re-drawn kernels.

    Example:

    ```python
    model = build_dic(DICConfig.tiny())
    kaiming_init(model, include_hourglass=False, seed=0)
    ```
    """
    skipped = set() if include_hourglass else {id(x) for x in convolution_layers(model.hourglass)}
    rng = numpy_generator(seed)
    count = 0
    for layer in convolution_layers(model):
        if id(layer) in skipped:
            continue
        shape = tuple(layer.kernel.shape)
        stddev = math.sqrt(2.0 / pytorch_fan_in(shape))
        layer.kernel.assign(rng.normal(0.0, stddev, size=shape).astype(layer.kernel.dtype))
        layer.bias.assign(np.zeros(layer.bias.shape, layer.bias.dtype))
        count += 1
    return count


def initialize(model, init, pretrained_hourglass):
    """Applies `init` ('kaiming' or 'torch_default') to a fresh DIC; returns a log line.

    Args:
        model: a built `DIC` with freshly created weights.
        init: one of `INITS`.
        pretrained_hourglass: whether the hourglass will be loaded afterwards
            (`--hg_init`); without it the hourglass keeps the default init.

    Example:
        initialize(model, "kaiming", pretrained_hourglass=False)
    """
    if init not in INITS:
        raise ValueError(f"--init={init!r}; expected one of {', '.join(INITS)}.")
    if init == "torch_default":
        return "PyTorch's default init (--init=torch_default)."
    count = kaiming_init(model, include_hourglass=pretrained_hourglass)
    if pretrained_hourglass:
        return f"kaiming init of {count} convolutions (the authors'); the hourglass is loaded next."
    return (
        f"kaiming init of the SR branch's {count} convolutions (the authors'); the hourglass "
        "keeps PyTorch's default init (no --hg_init: kaiming would make it diverge)."
    )
