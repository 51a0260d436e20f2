"""Hourglass networks: the recurrent landmark branch and the landmark evaluator."""

import keras
from keras import layers, ops

from dic_tf.layers.conv_blocks import ConvBlock
from dic_tf.layers.resize import bilinear_upsample


def _conv(filters, kernel_size, name, strides=1, padding=None):
    return ConvBlock(filters, kernel_size, strides, padding, activation=None, name=name)


def _batch_norm(name):
    # PyTorch's BatchNorm2d: eps 1e-5, running average momentum 0.1.
    return layers.BatchNormalization(epsilon=1e-5, momentum=0.9, name=name)


@keras.saving.register_keras_serializable(package="dic_tf")
class ResidualBlock(layers.Layer):
    """Bottleneck residual block 1x1 -> 3x3 -> 1x1 with an optional 1x1 skip.

    Without BatchNorm (the feedback hourglass) there is a ReLU after the first
    convolution only; with BatchNorm (the stacked hourglass) after the first two.

    Args:
        filters: output channels; the bottleneck has `filters // 2`.
        use_batch_norm: BatchNorm after every convolution.

    Shapes: [B, H, W, C] -> [B, H, W, filters].

    Example:
        block = ResidualBlock(128, use_batch_norm=True)
        y = block(np.zeros((1, 32, 32, 64), "float32"))  # (1, 32, 32, 128)
    """

    def __init__(self, filters, use_batch_norm=False, **kwargs):
        super().__init__(**kwargs)
        self.filters = filters
        self.use_batch_norm = use_batch_norm
        half = filters // 2
        self.conv0 = _conv(half, 1, "conv0")
        self.conv1 = _conv(half, 3, "conv1")
        self.conv2 = _conv(filters, 1, "conv2")
        self.bn0 = self.bn1 = self.bn2 = self.skip_bn = None
        if use_batch_norm:
            self.bn0, self.bn1, self.bn2 = (_batch_norm(f"bn{i}") for i in range(3))
        self.skip = None

    def build(self, input_shape):
        if input_shape[-1] != self.filters:
            self.skip = _conv(self.filters, 1, "skip")
            if self.use_batch_norm:
                self.skip_bn = _batch_norm("skip_bn")

    def call(self, inputs, training=None):
        if self.use_batch_norm:
            x = ops.relu(self.bn0(self.conv0(inputs), training=training))
            x = ops.relu(self.bn1(self.conv1(x), training=training))
            x = self.bn2(self.conv2(x), training=training)
        else:
            x = self.conv2(self.conv1(ops.relu(self.conv0(inputs))))
        skip = inputs
        if self.skip is not None:
            skip = self.skip(inputs)
            if self.skip_bn is not None:
                skip = self.skip_bn(skip, training=training)
        return skip + x

    def get_config(self):
        config = super().get_config()
        config.update(filters=self.filters, use_batch_norm=self.use_batch_norm)
        return config


@keras.saving.register_keras_serializable(package="dic_tf")
class Linear1x1(layers.Layer):
    """1x1 convolution [+ BatchNorm] + ReLU (the authors' `Lin`).

    Shapes: [B, H, W, C] -> [B, H, W, filters].

    Example:
        lin = Linear1x1(256)
        y = lin(np.zeros((1, 32, 32, 256), "float32"))  # (1, 32, 32, 256)
    """

    def __init__(self, filters, use_batch_norm=False, **kwargs):
        super().__init__(**kwargs)
        self.filters = filters
        self.use_batch_norm = use_batch_norm
        self.conv = _conv(filters, 1, "conv")
        self.bn = _batch_norm("bn") if use_batch_norm else None

    def call(self, inputs, training=None):
        x = self.conv(inputs)
        if self.bn is not None:
            x = self.bn(x, training=training)
        return ops.relu(x)

    def get_config(self):
        config = super().get_config()
        config.update(filters=self.filters, use_batch_norm=self.use_batch_norm)
        return config


@keras.saving.register_keras_serializable(package="dic_tf")
class Hourglass(layers.Layer):
    """Recursive hourglass of `depth` levels (max-pool down, bilinear up).

    Level n (depth ... 1) keeps a skip branch `skip_blocks[n - 1]`, pools by 2,
    applies `down_blocks[n - 1]`, recurses (or `center` at level 1), applies
    `up_blocks[n - 1]` and upsamples
    by 2 with `align_corners=True` before adding the skip branch.

    Args:
        depth: levels (4): the input sides must be multiples of 2**depth.
        filters: channels of every residual block.
        use_batch_norm: see `ResidualBlock`.

    Shapes: [B, H, W, filters] -> [B, H, W, filters].

    Example:
        hg = Hourglass(4, 256)
        y = hg(np.zeros((1, 32, 32, 256), "float32"))  # (1, 32, 32, 256)
    """

    def __init__(self, depth, filters, use_batch_norm=False, **kwargs):
        super().__init__(**kwargs)
        self.depth = depth
        self.filters = filters
        self.use_batch_norm = use_batch_norm

        def block(name):
            return ResidualBlock(filters, use_batch_norm, name=name)

        # Index n - 1 holds level n's blocks (level `depth` is the outermost).
        levels = range(1, depth + 1)
        self.skip_blocks = [block(f"skip_{n}") for n in levels]
        self.down_blocks = [block(f"down_{n}") for n in levels]
        self.up_blocks = [block(f"up_{n}") for n in levels]
        self.center = block("center")
        self.pool = layers.MaxPooling2D(2, 2, name="pool")

    def _level(self, x, n, training):
        skip = self.skip_blocks[n - 1](x, training=training)
        low = self.down_blocks[n - 1](self.pool(x), training=training)
        if n > 1:
            low = self._level(low, n - 1, training)
        else:
            low = self.center(low, training=training)
        low = self.up_blocks[n - 1](low, training=training)
        return skip + bilinear_upsample(low, 2, align_corners=True)

    def call(self, inputs, training=None):
        return self._level(inputs, self.depth, training)

    def get_config(self):
        config = super().get_config()
        config.update(
            depth=self.depth, filters=self.filters, use_batch_norm=self.use_batch_norm
        )
        return config


@keras.saving.register_keras_serializable(package="dic_tf")
class HourglassStem(layers.Layer):
    """7x7/2 conv [+ BN] + ReLU, residual, max-pool, two residuals: 1/4 resolution.

    The front of both hourglass networks (the authors' `conv1`, `res1`-`res3`).

    Args:
        filters: output channels.
        use_batch_norm: BatchNorm after the convolution and in the residual blocks.

    Shapes: [B, H, W, 3] -> [B, H / 4, W / 4, filters].

    Example:
        stem = HourglassStem(256, use_batch_norm=True)
        y = stem(np.zeros((1, 128, 128, 3), "float32"))  # (1, 32, 32, 256)
    """

    def __init__(self, filters, use_batch_norm, **kwargs):
        super().__init__(**kwargs)
        self.filters = filters
        self.use_batch_norm = use_batch_norm
        self.conv = _conv(filters // 4, 7, "conv", strides=2, padding=3)
        self.bn = _batch_norm("bn") if use_batch_norm else None
        self.res0 = ResidualBlock(filters // 2, use_batch_norm, name="res0")
        self.pool = layers.MaxPooling2D(2, 2, name="pool")
        self.res1 = ResidualBlock(filters // 2, use_batch_norm, name="res1")
        self.res2 = ResidualBlock(filters, use_batch_norm, name="res2")

    def call(self, inputs, training=None):
        x = self.conv(inputs)
        if self.bn is not None:
            x = self.bn(x, training=training)
        x = self.res0(ops.relu(x), training=training)
        x = self.res1(self.pool(x), training=training)
        return self.res2(x, training=training)

    def get_config(self):
        config = super().get_config()
        config.update(filters=self.filters, use_batch_norm=self.use_batch_norm)
        return config


@keras.saving.register_keras_serializable(package="dic_tf")
class FeedbackHourglass(layers.Layer):
    """The recurrent landmark branch of DIC (no BatchNorm).

    The stem features are concatenated with the previous step's hidden state
    (with themselves at the first step), compressed, passed through a 4-level
    hourglass of `2 F` channels; the first F channels give the heatmaps, the
    last F channels are the next hidden state.

    Args:
        num_features: F (256 in the paper).
        num_keypoints: K heatmaps.

    Call args:
        images: SR images [B, 4h, 4w, 3] (normalised space).
        hidden: [B, h, w, F] or None at the first step.

    Returns:
        (heatmaps [B, h, w, K], hidden [B, h, w, F]).

    Example:
        branch = FeedbackHourglass(256, 68)
        heatmaps, hidden = branch(np.zeros((1, 128, 128, 3), "float32"))
        heatmaps, hidden = branch(sr_next, hidden)  # the next step
    """

    def __init__(self, num_features, num_keypoints, **kwargs):
        super().__init__(**kwargs)
        self.num_features = num_features
        self.num_keypoints = num_keypoints
        f = num_features
        self.stem = HourglassStem(f, False, name="stem")
        self.compress_in = _conv(2 * f, 1, "compress_in")
        self.hourglass = Hourglass(4, 2 * f, False, name="hourglass")
        self.head_res = ResidualBlock(f, False, name="head_res")
        self.head_lin = Linear1x1(f, False, name="head_lin")
        self.head_out = _conv(num_keypoints, 1, "head_out")

    def call(self, images, hidden=None):
        features = self.stem(images)
        if hidden is None:
            hidden = features
        x = self.hourglass(self.compress_in(ops.concatenate([features, hidden], -1)))
        f = self.num_features
        heatmaps = self.head_out(self.head_lin(self.head_res(x[..., :f])))
        return heatmaps, x[..., f:]

    def get_config(self):
        config = super().get_config()
        config.update(num_features=self.num_features, num_keypoints=self.num_keypoints)
        return config


@keras.saving.register_keras_serializable(package="dic_tf")
class StackedHourglass(layers.Layer):
    """Stacked hourglass landmark detector (BatchNorm, 'mean' connections).

    The authors train it on HR faces and run it on SR outputs to measure
    landmark accuracy. Stacks are chained by adding 1x1 projections of the
    stack's features and of its heatmaps to the stack input.

    Args:
        num_features: channels (256 in the paper).
        num_stacks: hourglasses (4 in the paper).
        num_keypoints: K heatmaps.

    Shapes: images [B, H, W, 3] -> heatmaps of the last stack [B, H/4, W/4, K].

    Example:
        hg = StackedHourglass(256, 4, 68)
        heatmaps = hg(np.zeros((1, 128, 128, 3), "float32"))  # (1, 32, 32, 68)
    """

    def __init__(self, num_features, num_stacks, num_keypoints, **kwargs):
        super().__init__(**kwargs)
        self.num_features = num_features
        self.num_stacks = num_stacks
        self.num_keypoints = num_keypoints
        f = num_features
        self.stem = HourglassStem(f, True, name="stem")
        self.hourglasses = [Hourglass(4, f, True, name=f"hg{i}") for i in range(num_stacks)]
        self.residuals = [ResidualBlock(f, True, name=f"hg{i}_res") for i in range(num_stacks)]
        self.linears = [Linear1x1(f, True, name=f"hg{i}_lin") for i in range(num_stacks)]
        self.predictions = [_conv(num_keypoints, 1, f"hg{i}_pred") for i in range(num_stacks)]
        last = num_stacks - 1
        self.feature_maps = [_conv(f, 1, f"hg{i}_feat") for i in range(last)]
        self.heatmap_maps = [_conv(f, 1, f"hg{i}_heat") for i in range(last)]

    def call(self, images, training=None, all_stacks=False):
        """Heatmaps of the last stack, or of every stack when `all_stacks`.

        Returns:
            [B, H/4, W/4, K], or a list of `num_stacks` of them (the
            intermediate supervision of training).
        """
        x = self.stem(images, training=training)
        stacks = []
        for i in range(self.num_stacks):
            features = self.hourglasses[i](x, training=training)
            features = self.residuals[i](features, training=training)
            features = self.linears[i](features, training=training)
            heatmaps = self.predictions[i](features)
            stacks.append(heatmaps)
            if i < self.num_stacks - 1:
                x = x + self.feature_maps[i](features) + self.heatmap_maps[i](heatmaps)
        return stacks if all_stacks else stacks[-1]

    def get_config(self):
        config = super().get_config()
        config.update(
            num_features=self.num_features,
            num_stacks=self.num_stacks,
            num_keypoints=self.num_keypoints,
        )
        return config
