"""Conversion of the authors' PyTorch checkpoints into dic_tf models.

`load_official_weights(model, source)` fills a DIC model, a feedback hourglass
(DIC's landmark branch alone), the stacked-hourglass evaluator or a LightCNN-9
from a `.pth` file or from a mapping of PyTorch names to arrays. Loading is
strict and atomic: every missing, unexpected or mis-shaped tensor is reported
by name and nothing is assigned unless everything matches.
"""

import os

import numpy as np

from dic_tf.layers import DeconvBlock, FeedbackHourglass
from dic_tf.layers.hourglass import Hourglass, Linear1x1
from dic_tf.models.dic import DIC
from dic_tf.models.landmark_estimators import StackedHourglassModel
from dic_tf.models.lightcnn import LightCNNDiscriminator, LightCNNFeatures

# Checkpoint wrappers used by the authors' solvers.
_WRAPPER_KEYS = ("state_dict", "netG", "model")
# Buffers PyTorch saves that have no Keras counterpart.
_IGNORED_SUFFIXES = (".num_batches_tracked",)


class CheckpointMismatchError(ValueError):
    """The checkpoint does not fit the model; the message lists every problem."""


# Weight layout transforms: PyTorch array -> Keras array.
def _conv_kernel(w):  # (out, in/groups, kh, kw) -> (kh, kw, in/groups, out)
    return np.transpose(w, (2, 3, 1, 0))


def _deconv_kernel(w):  # (in, out, kh, kw) -> (kh, kw, out, in)
    return np.transpose(w, (2, 3, 1, 0))


def _dense_kernel(w):  # (out, in) -> (in, out)
    return np.transpose(w)


def _identity(w):
    return w


def _pixel_shuffle_permutation(channels, block_size=2):
    """Index map: Keras depth_to_space channel k takes PyTorch PixelShuffle channel."""
    r2 = block_size * block_size
    return np.array([c * r2 + s for s in range(r2) for c in range(channels)])


def _nchw_flatten_permutation(height, width, channels):
    """Row map: NHWC-flattened row k takes the NCHW-flattened row."""
    h, w, c = np.meshgrid(np.arange(height), np.arange(width), np.arange(channels), indexing="ij")
    return (c * height * width + h * width + w).reshape(-1)


class _Table:
    """PyTorch name -> (Keras variable, transform) for one model."""

    def __init__(self):
        self.entries = {}

    def add(self, name, variable, transform=_identity):
        self.entries[name] = (variable, transform)

    def conv(self, prefix, conv, transform=_conv_kernel):
        """A bare Conv2d / ConvTranspose2d: `<prefix>.weight`, `<prefix>.bias`."""
        self.add(f"{prefix}.weight", conv.kernel, transform)
        self.add(f"{prefix}.bias", conv.bias)

    def block(self, prefix, block):
        """The authors' ConvBlock/DeconvBlock: `<prefix>.0` conv, `<prefix>.1` PReLU."""
        transform = _deconv_kernel if isinstance(block, DeconvBlock) else _conv_kernel
        self.conv(f"{prefix}.0", block, transform)
        if block.activation == "prelu":
            self.add(f"{prefix}.1.weight", block.act.alpha, lambda w: w.reshape(1, 1, 1))

    def batch_norm(self, prefix, bn):
        self.add(f"{prefix}.weight", bn.gamma)
        self.add(f"{prefix}.bias", bn.beta)
        self.add(f"{prefix}.running_mean", bn.moving_mean)
        self.add(f"{prefix}.running_var", bn.moving_variance)


def _plain_conv(table, prefix, block):
    """A ConvBlock without activation stored as a bare PyTorch Conv2d."""
    table.conv(prefix, block)


def _residual(table, prefix, res):
    if res.use_batch_norm:
        for (conv_i, bn_i), conv, bn in zip(
            ((0, 1), (3, 4), (6, 7)), (res.conv0, res.conv1, res.conv2), (res.bn0, res.bn1, res.bn2)
        ):
            _plain_conv(table, f"{prefix}.conv_block.{conv_i}", conv)
            table.batch_norm(f"{prefix}.conv_block.{bn_i}", bn)
        if res.skip is not None:
            _plain_conv(table, f"{prefix}.skip_layer.0", res.skip)
            table.batch_norm(f"{prefix}.skip_layer.1", res.skip_bn)
    else:
        for i, conv in zip((0, 2, 3), (res.conv0, res.conv1, res.conv2)):
            _plain_conv(table, f"{prefix}.conv_block.{i}", conv)
        if res.skip is not None:
            _plain_conv(table, f"{prefix}.skip_layer", res.skip)


def _linear(table, prefix, lin: Linear1x1):
    _plain_conv(table, f"{prefix}.conv_block.0", lin.conv)
    if lin.bn is not None:
        table.batch_norm(f"{prefix}.conv_block.1", lin.bn)


def _hourglass(table, prefix, hg: Hourglass):
    for n in range(hg.depth, 0, -1):
        _residual(table, f"{prefix}.res{n}_1", hg.skip_blocks[n - 1])
        _residual(table, f"{prefix}.res{n}_2", hg.down_blocks[n - 1])
        _residual(table, f"{prefix}.res{n}_3", hg.up_blocks[n - 1])
    _residual(table, f"{prefix}.res_center", hg.center)


def _stem(table, prefix, stem):
    _plain_conv(table, f"{prefix}.0", stem.conv)
    first_res = 2
    if stem.bn is not None:
        table.batch_norm(f"{prefix}.1", stem.bn)
        first_res = 3
    for offset, res in zip((0, 2, 3), (stem.res0, stem.res1, stem.res2)):
        _residual(table, f"{prefix}.{first_res + offset}", res)


def _feedback_hourglass(table, prefix, hg: FeedbackHourglass):
    _stem(table, f"{prefix}pre_conv_block", hg.stem)
    _plain_conv(table, f"{prefix}compress_in", hg.compress_in)
    _hourglass(table, f"{prefix}hg", hg.hourglass)
    _residual(table, f"{prefix}hg_conv_out.0", hg.head_res)
    _linear(table, f"{prefix}hg_conv_out.1", hg.head_lin)
    _plain_conv(table, f"{prefix}hg_conv_out.2", hg.head_out)


def _feedback_block(table, prefix, block):
    table.block(f"{prefix}.compress_in", block.compress_in)
    for g in range(block.num_groups):
        table.block(f"{prefix}.upBlocks.{g}", block.up_blocks[g])
        table.block(f"{prefix}.downBlocks.{g}", block.down_blocks[g])
    for g in range(block.num_groups - 1):
        table.block(f"{prefix}.uptranBlocks.{g}", block.up_transitions[g])
        table.block(f"{prefix}.downtranBlocks.{g}", block.down_transitions[g])
    table.block(f"{prefix}.compress_out", block.compress_out)


def _dic_table(model: DIC):
    table = _Table()
    f = model.config.num_features
    perm = _pixel_shuffle_permutation(f)
    conv_in = model.conv_in
    table.add("conv_in.0.weight", conv_in.kernel, lambda w: _conv_kernel(w)[..., perm])
    table.add("conv_in.0.bias", conv_in.bias, lambda b: b[perm])
    table.add("conv_in.1.weight", conv_in.act.alpha, lambda w: w.reshape(1, 1, 1))
    _feedback_block(table, "first_block", model.first_block)
    _feedback_block(table, "block", model.block)
    fusion = model.block.fusion
    _plain_conv(table, "block.fusion_block.conv_in.0", fusion.conv_in)
    for i, res in enumerate(fusion.res_blocks):
        _plain_conv(table, f"block.fusion_block.resnet.{i}.res.0", res.conv0)
        _plain_conv(table, f"block.fusion_block.resnet.{i}.res.2", res.conv1)
    table.block("out", model.out)
    _plain_conv(table, "conv_out.0", model.conv_out)
    _feedback_hourglass(table, "HG.", model.hourglass)
    return table


def _stacked_hourglass_table(model: StackedHourglassModel):
    table = _Table()
    net = model.network
    _stem(table, "pre_conv_block", net.stem)
    for i in range(net.num_stacks):
        _hourglass(table, f"hg{i}", net.hourglasses[i])
        _residual(table, f"hg{i}_res1", net.residuals[i])
        _linear(table, f"hg{i}_lin1", net.linears[i])
        _plain_conv(table, f"hg{i}_conv_pred", net.predictions[i])
        if i < net.num_stacks - 1:
            _plain_conv(table, f"hg{i}_conv1", net.feature_maps[i])
            _plain_conv(table, f"hg{i}_conv2", net.heatmap_maps[i])
    return table


def _lightcnn_trunk(table, trunk):
    _plain_conv(table, "features.0.filter", trunk.mfm0.filter)
    for index, group in zip((2, 4, 6, 7), (trunk.group1, trunk.group2, trunk.group3, trunk.group4)):
        _plain_conv(table, f"features.{index}.conv_a.filter", group.conv_a.filter)
        _plain_conv(table, f"features.{index}.conv.filter", group.conv.filter)


def _lightcnn_table(model):
    table = _Table()
    _lightcnn_trunk(table, model.trunk)
    if isinstance(model, LightCNNDiscriminator):
        rows = _nchw_flatten_permutation(8, 8, 128)
        table.add(
            "classifier.0.filter.weight", model.fc.filter.kernel, lambda w: _dense_kernel(w)[rows]
        )
        table.add("classifier.0.filter.bias", model.fc.filter.bias)
        table.add("classifier.2.weight", model.logit.kernel, _dense_kernel)
        table.add("classifier.2.bias", model.logit.bias)
    return table


def _hourglass_only_table(hg: FeedbackHourglass):
    table = _Table()
    _feedback_hourglass(table, "", hg)
    return table


def weight_table(model):
    """{PyTorch name: (Keras variable, transform)} for a supported model."""
    if isinstance(model, DIC):
        return _dic_table(model).entries
    if isinstance(model, FeedbackHourglass):
        return _hourglass_only_table(model).entries
    if isinstance(model, StackedHourglassModel):
        return _stacked_hourglass_table(model).entries
    if isinstance(model, (LightCNNDiscriminator, LightCNNFeatures)):
        return _lightcnn_table(model).entries
    raise TypeError(
        f"load_official_weights does not know {type(model).__name__}; expected DIC, "
        "FeedbackHourglass, StackedHourglassModel, LightCNNDiscriminator or LightCNNFeatures."
    )


def read_torch_checkpoint(path):
    """Reads a `.pth` file into {name: numpy array} with `torch.load(weights_only=True)`."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"PyTorch checkpoint {path!r} does not exist.")
    try:
        import torch
    except ImportError as error:
        raise ImportError(
            f"Reading {path!r} needs PyTorch, which is not installed. Install the CPU build "
            "(`pip install torch`; any version >= 2.0), or pass a mapping of PyTorch names "
            "to numpy arrays instead of a path."
        ) from error
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:
        raise ValueError(f"Cannot read PyTorch checkpoint {path!r}: {error}") from error
    return checkpoint


def _to_numpy(value, name):
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise CheckpointMismatchError(
            f"Checkpoint tensor {name!r} is not numeric ({type(value).__name__})."
        ) from error


def read_npz_state_dict(path):
    """Reads an `.npz` of arrays keyed by PyTorch names (no PyTorch needed)."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"Checkpoint {path!r} does not exist.")
    with np.load(path) as data:
        return {name: data[name] for name in data.files}


def normalize_state_dict(source):
    """Unwraps `{'state_dict': ...}`/`{'netG': ...}` and strips DataParallel `module.`.

    Args:
        source: a `.pth` path, an `.npz` path of arrays keyed by PyTorch names,
            or a mapping of PyTorch names to arrays/tensors.

    Returns:
        {name: float64 numpy array}.
    """
    if isinstance(source, (str, os.PathLike)):
        is_npz = os.fspath(source).endswith(".npz")
        source = read_npz_state_dict(source) if is_npz else read_torch_checkpoint(source)
    if not hasattr(source, "items"):
        raise TypeError(
            f"Checkpoint source must be a path or a mapping, got {type(source).__name__}."
        )
    for key in _WRAPPER_KEYS:
        if key in source and hasattr(source[key], "items"):
            source = source[key]
            break
    state = {}
    for name, value in source.items():
        if name.endswith(_IGNORED_SUFFIXES):
            continue
        clean = name[len("module.") :] if name.startswith("module.") else name
        state[clean] = _to_numpy(value, name)
    return state


def _strip_common_prefix(state, expected):
    """Accepts a feedback hourglass saved inside DIC (`HG.` prefix)."""
    if expected and not (set(state) & set(expected)):
        hg = {k[len("HG.") :]: v for k, v in state.items() if k.startswith("HG.")}
        if hg and set(hg) & set(expected):
            return hg
    return state


def load_official_weights(model, source, ignore_prefixes=None):
    """Loads an official PyTorch checkpoint into a dic_tf model, strictly.

    Args:
        model: a built `DIC`, `FeedbackHourglass` (DIC's landmark branch, e.g.
            `dic.hourglass`), `StackedHourglassModel`, `LightCNNDiscriminator`
            or `LightCNNFeatures`.
        source: path to a `.pth` file (DIC_CelebA.pth, DICGAN_CelebA.pth,
            FB_HG_68_CelebA.pth, HG_68_CelebA.pth, LightCNN_feature.pth), an
            `.npz` of the same tensors keyed by PyTorch names, or a mapping of
            PyTorch names to arrays. Plain state dicts,
            `{'state_dict': ...}`, `{'netG': ...}` and `module.` prefixes work.
        ignore_prefixes: names starting with these are skipped (reported in the
            result). Defaults to the classifier head for `LightCNNFeatures` and
            the rest of DIC for a lone `FeedbackHourglass`; nothing otherwise.

    Returns:
        {"loaded": number of tensors assigned, "ignored": sorted names skipped}.

    Raises:
        CheckpointMismatchError: listing every missing, unexpected and
            mis-shaped tensor by name; the model is left unchanged.
    """
    table = weight_table(model)
    state = normalize_state_dict(source)
    if isinstance(model, FeedbackHourglass):
        state = _strip_common_prefix(state, table)
    if ignore_prefixes is None:
        ignore_prefixes = ("classifier.", "fc") if isinstance(model, LightCNNFeatures) else ()
    ignored = sorted(k for k in state if k not in table and k.startswith(tuple(ignore_prefixes)))
    missing = sorted(set(table) - set(state))
    unexpected = sorted(set(state) - set(table) - set(ignored))
    values, misshaped = {}, []
    for name, (variable, transform) in table.items():
        if name not in state:
            continue
        try:
            value = transform(state[name])
        except (ValueError, IndexError):
            value = None
        if value is None or tuple(value.shape) != tuple(variable.shape):
            misshaped.append(
                f"{name}: checkpoint shape {tuple(state[name].shape)} does not fit "
                f"{variable.path} of shape {tuple(variable.shape)}"
            )
            continue
        values[name] = value
    problems = []
    if missing:
        problems.append(f"missing {len(missing)} tensor(s): " + ", ".join(missing))
    if unexpected:
        problems.append(f"unexpected {len(unexpected)} tensor(s): " + ", ".join(unexpected))
    if misshaped:
        problems.append(f"{len(misshaped)} mis-shaped tensor(s):\n  " + "\n  ".join(misshaped))
    if problems:
        raise CheckpointMismatchError(
            f"Checkpoint does not match {type(model).__name__}; nothing was loaded.\n"
            + "\n".join(problems)
        )
    for name, value in values.items():
        variable, _ = table[name]
        variable.assign(value.astype(variable.dtype))
    return {"loaded": len(values), "ignored": ignored}
