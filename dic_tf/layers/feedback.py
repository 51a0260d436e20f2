"""Feedback blocks of the SR branch: groups of up- and down-projections."""

import functools

import keras
from keras import layers, ops

from dic_tf.layers.conv_blocks import ConvBlock, DeconvBlock
from dic_tf.layers.fusion import AttentiveFusion

# SRFBN's up/down-projection geometry (kernel k, stride s, padding p) by
# projection factor s: a [H, W] map <-> [sH, sW]. DIC projects by its SR scale
# (x8 from features at 2x the LR side, to maps at twice the HR side).
PROJECTIONS = {2: (6, 2, 2), 4: (8, 4, 2), 8: (12, 8, 2)}


@keras.saving.register_keras_serializable(package="dic_tf")
class FeedbackBlock(layers.Layer):
    """Compression + `num_groups` up/down projection groups + output compression.

    Group g up-projects the (transition-compressed) concatenation of all LR
    features so far to HR, down-projects the concatenation of all HR features so
    far back to LR, and the block outputs the compressed concatenation of the
    groups' LR features. Used alone, it is the first (coarse) feedback block.

    Args:
        num_features: channels F.
        num_groups: projection groups G.
        scale: projection factor s, a key of `PROJECTIONS` (2, 4 or 8).
        remat_groups: recompute each group's projections in the backward pass
            (`keras.remat`) instead of storing them: only the groups' outputs,
            an HR feature [B, sH, sW, F] and an LR feature [B, H, W, F] each,
            are kept. Same numbers; the layers and weights are unchanged.

    Shapes: [B, H, W, C_in] -> [B, H, W, F]; the projections run at [sH, sW].

    Example:
        block = FeedbackBlock(48, 6)
        y = block(np.zeros((1, 16, 16, 96), "float32"))  # (1, 16, 16, 48)
    """

    def __init__(self, num_features, num_groups, scale=8, remat_groups=False, **kwargs):
        super().__init__(**kwargs)
        if scale not in PROJECTIONS:
            raise ValueError(
                f"FeedbackBlock: scale {scale} is not supported; expected one of {sorted(PROJECTIONS)}."
            )
        self.num_features = num_features
        self.num_groups = num_groups
        self.scale = scale
        self.remat_groups = remat_groups
        kernel, stride, pad = PROJECTIONS[scale]
        f = num_features
        self.compress_in = ConvBlock(f, 1, name="compress_in")
        self.up_blocks = [
            DeconvBlock(f, kernel, stride, pad, name=f"up_{g}") for g in range(num_groups)
        ]
        self.down_blocks = [
            ConvBlock(f, kernel, stride, pad, name=f"down_{g}") for g in range(num_groups)
        ]
        self.up_transitions = [ConvBlock(f, 1, name=f"up_tran_{g}") for g in range(1, num_groups)]
        self.down_transitions = [
            ConvBlock(f, 1, name=f"down_tran_{g}") for g in range(1, num_groups)
        ]
        self.compress_out = ConvBlock(f, 1, name="compress_out")

    def group(self, g, *features):
        """Projection group g: (its LR feature [B, H, W, F], its HR feature [B, sH, sW, F]).

        `features` are the block's LR features so far (the compressed input and
        groups 0..g-1's, g + 1 tensors [B, H, W, F]) followed by groups
        0..g-1's HR features (g tensors [B, sH, sW, F]). The LR feature comes
        first: TensorFlow's `keras.remat` recomputes a group once the gradient
        of its first output is there, and the last group's HR feature has none.
        """
        lr_features, hr_features = features[: g + 1], features[g + 1 :]
        lr = lr_features[0] if g == 0 else self.up_transitions[g - 1](
            ops.concatenate(lr_features, -1)
        )
        hr = self.up_blocks[g](lr)
        # The HR transition convolves the concatenation without making it
        # (`ConvBlock` on a list): the backward pass keeps no [B, sH, sW, (g+1) F] map.
        down_in = hr if g == 0 else self.down_transitions[g - 1]([*hr_features, hr])
        return self.down_blocks[g](down_in), hr

    def project(self, x):
        """Runs the projection groups on compressed LR features [B, H, W, F]."""
        lr_features = [x]
        hr_features = []
        for g in range(self.num_groups):
            group = functools.partial(self.group, g)
            if self.remat_groups:
                group = keras.remat(group)
            lr, hr = group(*lr_features, *hr_features)
            hr_features.append(hr)
            lr_features.append(lr)
        return self.compress_out(ops.concatenate(lr_features[1:], -1))

    def call(self, inputs):
        return self.project(self.compress_in(inputs))

    def get_config(self):
        config = super().get_config()
        config.update(
            num_features=self.num_features,
            num_groups=self.num_groups,
            scale=self.scale,
            remat_groups=self.remat_groups,
        )
        return config


@keras.saving.register_keras_serializable(package="dic_tf")
class AttentiveFeedbackBlock(FeedbackBlock):
    """Feedback block guided by facial-component attention (steps t >= 1).

    Args:
        num_features: channels F.
        num_groups: projection groups G.
        num_fusion_blocks: grouped residual blocks of the attentive fusion.
        scale: projection factor (2, 4 or 8; see `FeedbackBlock`).
        remat_groups: recompute each projection group in the backward pass
            (see `FeedbackBlock`).

    Call args:
        features: LR features [B, H, W, F].
        hidden: the previous step's block output [B, H, W, F].
        components: merged heatmaps [B, H, W, 5].

    Returns:
        [B, H, W, F], which is also the next step's `hidden`.

    Example:
        block = AttentiveFeedbackBlock(48, 6, 7)
        x, components = np.zeros((1, 16, 16, 48), "float32"), np.zeros((1, 16, 16, 5), "float32")
        y = block(x, x, components)  # (1, 16, 16, 48)
    """

    def __init__(
        self, num_features, num_groups, num_fusion_blocks, scale=8, remat_groups=False, **kwargs
    ):
        super().__init__(num_features, num_groups, scale=scale, remat_groups=remat_groups, **kwargs)
        self.num_fusion_blocks = num_fusion_blocks
        self.fusion = AttentiveFusion(num_features, num_fusion_blocks, name="fusion")

    def call(self, features, hidden, components):
        x = self.compress_in(ops.concatenate([features, hidden], -1))
        return self.project(self.fusion(x, components))

    def get_config(self):
        config = super().get_config()
        config.update(num_fusion_blocks=self.num_fusion_blocks)
        return config
