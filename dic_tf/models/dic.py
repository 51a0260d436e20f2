"""DIC: iterative collaboration of the SR branch and the landmark branch."""

import keras
from keras import ops

from dic_tf.layers import (
    AttentiveFeedbackBlock,
    ConvBlock,
    DeconvBlock,
    FeedbackBlock,
    FeedbackHourglass,
    bilinear_upsample,
    merge_heatmaps,
    pixel_shuffle,
)
from dic_tf.layers.feedback import PROJECTIONS
from dic_tf.models.dic_config import HR_SIZE, REMAT_MODES, SR_SIZE_MULTIPLE, DICConfig
from dic_tf.models.symbolic_build import SymbolicBuild

# Rematerialisation (`keras.RematScope`) of DIC's layers, by `remat` value:
#   blocks      every feedback block call (a step's up/down projections and, from
#               step 1, its attentive fusion): only its 2H x 2W input and output
#               are kept; the 8x projection maps are recomputed in the backward pass.
#   large_maps  every layer whose output is larger than one 128x128x48 map (the
#               projections' and the reconstruction's 8H x 8W maps, per layer).
#   groups      no scope: each up/down projection group of a feedback block
#               (`FeedbackBlock(remat_groups=True)`): only its HR and LR
#               features are kept; its transitions and concatenations are
#               recomputed in the backward pass.
#   blocks_and_groups  both, nested: a block's backward recomputes the block,
#               whose groups are recomputed again (the leanest; three forward
#               passes of the projections).
REMAT_SCOPES = {
    "none": {"mode": None},
    "blocks": {"mode": "list_of_layers", "layer_names": ["first_block", "block"]},
    "large_maps": {"mode": "larger_than", "output_size_threshold": 128 * 128 * 48},
    "groups": {"mode": None},
    "blocks_and_groups": {"mode": "list_of_layers", "layer_names": ["first_block", "block"]},
}
assert tuple(REMAT_SCOPES) == REMAT_MODES


def check_lr_shape(shape, scale=8, name="lr"):
    """Raises a ValueError naming the tensor when its static shape is not [B, H, W, 3]
    with H and W multiples of `DICConfig(scale).lr_size_multiple` (64 / scale: the
    hourglass pools the SR image 4 times at a quarter of its side). Unknown
    (dynamic) sides are not checked here.

    Example:
        check_lr_shape((1, 16, 16, 3))  # passes; (1, 12, 16, 3) raises ValueError
        check_lr_shape((1, 32, 32, 3), scale=4)  # passes; (1, 24, 24, 3) raises
    """
    if len(shape) != 4 or shape[-1] != 3:
        raise ValueError(f"DIC input `{name}` has shape {tuple(shape)}; expected [B, H, W, 3].")
    multiple = SR_SIZE_MULTIPLE // scale
    bad = [s for s in shape[1:3] if s is not None and s % multiple]
    if bad:
        lr = HR_SIZE // scale
        raise ValueError(
            f"DIC x{scale} input `{name}` has LR size {shape[1]}x{shape[2]}; both sides must be "
            f"multiples of {multiple} (e.g. {lr}x{lr} for {HR_SIZE}x{HR_SIZE} faces)."
        )


@keras.saving.register_keras_serializable(package="dic_tf")
class DIC(SymbolicBuild, keras.Model):
    """Deep Iterative Collaboration network (Ma et al., CVPR 2020).

    Step 0 runs the coarse feedback block; every later step runs the attentive
    feedback block on the LR features, the previous step's block output and
    the 5 facial components merged from the previous step's heatmaps. Every
    step's SR image (bilinear x`scale` upsample + residual) goes through the
    feedback hourglass, whose hidden state is carried to the next step.

    The heatmaps are always at a quarter of the SR side. The features are at
    the heatmaps' side or the LR side, whichever is larger: x8 (the paper's)
    extracts 4F channels and pixel-shuffles them to twice the LR side; x4 and
    x2 extract F channels at the LR side (at x2 twice the heatmaps' side, so
    the merged components are upsampled bilinearly to it). The feedback
    blocks project by `scale` (`feedback.PROJECTIONS`) and the `out`
    deconvolution takes the features to the SR side.

    Inputs: LR faces [B, H, W, 3], RGB in [0, 1] minus `RGB_MEAN`, H and W
    multiples of `config.lr_size_multiple` (8 at x8, 16 at x4, 32 at x2).

    Args:
        config: `DICConfig` (or its dict); default the paper's x8.
        remat: what to recompute in the backward pass instead of storing
            (`REMAT_SCOPES`: 'none', 'blocks', 'large_maps', 'groups' or
            'blocks_and_groups'). It changes memory and time of a training
            step, never the numbers.

    Returns a dict (s = `config.scale`):
        "sr": list of `num_steps` tensors [B, sH, sW, 3] (normalised space).
        "heatmaps": list of `num_steps` tensors [B, sH/4, sW/4, num_keypoints].
        "components": list of `num_steps - 1` tensors [B, h, w, 5], the
            merged heatmaps the attentive fusion used at steps 1, 2, ... at
            the features' side (the heatmaps' side at x8 and x4, [B, H, W, 5]
            at x2).

    Example:
        model = DIC(DICConfig.tiny())
        out = model(np.zeros((1, 16, 16, 3), "float32"))
        [s.shape for s in out["sr"]]  # 3 x (1, 128, 128, 3)
    """

    def __init__(self, config=None, remat="none", **kwargs):
        super().__init__(**kwargs)
        if isinstance(config, dict):
            config = DICConfig.from_dict(config)
        if remat not in REMAT_SCOPES:
            raise ValueError(f"DIC remat={remat!r}; expected one of {', '.join(REMAT_SCOPES)}.")
        self.config = config or DICConfig.x8()
        self.remat = remat
        c = self.config
        f = c.num_features
        # Features / LR side (pixel shuffle) and features / heatmaps side (attention upsampling).
        self.shuffle_factor = max(c.scale // 4, 1)
        self.attention_factor = max(4 // c.scale, 1)
        self.conv_in = ConvBlock(self.shuffle_factor**2 * f, 3, name="conv_in")
        remat_groups = remat in ("groups", "blocks_and_groups")
        with keras.RematScope(**REMAT_SCOPES[remat]):
            self.first_block = FeedbackBlock(
                f, c.num_groups, c.scale, remat_groups=remat_groups, name="first_block"
            )
            self.block = AttentiveFeedbackBlock(
                f, c.num_groups, c.num_fusion_blocks, c.scale, remat_groups=remat_groups,
                name="block",
            )
            self.out = DeconvBlock(f, *PROJECTIONS[c.scale // self.shuffle_factor], name="out")
            self.conv_out = ConvBlock(3, 3, activation=None, name="conv_out")
        self.hourglass = FeedbackHourglass(c.hg_num_features, c.num_keypoints, name="hourglass")

    def reconstruct(self, upsampled, block_output):
        """SR image [B, sH, sW, 3] from a feedback block output (at the features' side)."""
        return upsampled + self.conv_out(self.out(block_output))

    def call(self, lr):
        check_lr_shape(lr.shape, self.config.scale)
        upsampled = bilinear_upsample(lr, self.config.scale, align_corners=False)
        features = self.conv_in(lr)
        if self.shuffle_factor > 1:
            features = pixel_shuffle(features, self.shuffle_factor)
        hidden = self.first_block(features)
        sr = self.reconstruct(upsampled, hidden)
        heatmaps, hg_hidden = self.hourglass(sr)
        outputs = {"sr": [sr], "heatmaps": [heatmaps], "components": []}
        for _ in range(1, self.config.num_steps):
            components = merge_heatmaps(heatmaps)
            if self.config.detach_attention:
                components = ops.stop_gradient(components)
            if self.attention_factor > 1:
                # Bilinear (half-pixel centres, as the heatmaps sit on the SR image): the
                # heatmaps are smooth Gaussians, and a convex interpolation keeps the
                # softmax's inputs in their range (no bicubic overshoot) and without
                # nearest's 2x2 blocks at the attention's edges.
                components = bilinear_upsample(components, self.attention_factor, align_corners=False)
            hidden = self.block(features, hidden, components)
            sr = self.reconstruct(upsampled, hidden)
            heatmaps, hg_hidden = self.hourglass(sr, hg_hidden)
            outputs["sr"].append(sr)
            outputs["heatmaps"].append(heatmaps)
            outputs["components"].append(components)
        return outputs

    def get_config(self):
        config = super().get_config()
        config.update(config=self.config.to_dict(), remat=self.remat)
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def build_dic(config=None, lr_size=None, remat="none"):
    """Builds DIC (weights created) for `config` (default: the paper's x8) on a
    symbolic LR input of side `lr_size` (default `config.lr_size`, 128 / scale).

    Example:

    ```python
    model = build_dic(DICConfig.tiny(), remat="blocks")
    outputs = model(keras.ops.zeros((2, 16, 16, 3)))   # outputs["sr"][-1]: [2, 128, 128, 3]
    ```
    """
    config = DICConfig.from_dict(config) if isinstance(config, dict) else config or DICConfig.x8()
    lr_size = lr_size or config.lr_size
    model = DIC(config, remat=remat)
    model.build((1, lr_size, lr_size, 3))  # one symbolic pass: no op run, no JAX op compiled
    return model
