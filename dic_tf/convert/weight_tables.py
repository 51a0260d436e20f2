"""`weight_table(model)`: the PyTorch name, Keras variable and layout transform of every weight.

One table per supported model (DIC, its feedback hourglass alone, the
stacked-hourglass evaluator, LightCNN-9), read by
`dic_tf.convert.load_official_weights`.
"""

import numpy as np

from dic_tf.layers import DeconvBlock, FeedbackHourglass
from dic_tf.layers.hourglass import Hourglass, Linear1x1
from dic_tf.models.dic import DIC
from dic_tf.models.landmark_estimators import StackedHourglassModel
from dic_tf.models.lightcnn import LightCNNDiscriminator, LightCNNFeatures


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
    """{PyTorch name: (Keras variable, transform)} for a supported model.

    Example:
        table = weight_table(build_dic(DICConfig.tiny()))
        variable, transform = next(iter(table.values()))  # keyed by PyTorch name
    """
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
