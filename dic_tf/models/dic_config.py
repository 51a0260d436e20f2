"""Model configuration shared by the network, the flags and the exports."""

import dataclasses

# What a DIC training step recomputes in the backward pass instead of storing
# (`models.dic.REMAT_SCOPES`; the numbers are the same for every mode).
REMAT_MODES = ("none", "blocks", "large_maps", "groups", "blocks_and_groups")

# SR factors DIC is built for (x8 is the paper's; x4 and x2 keep its 128x128 HR).
SCALES = (8, 4, 2)
# The paper's HR side: the default LR side is HR_SIZE / scale.
HR_SIZE = 128
# The feedback hourglass pools 4 times at a quarter of the SR side.
SR_SIZE_MULTIPLE = 64


@dataclasses.dataclass
class DICConfig:
    """Hyper-parameters of DIC. Field names double as the training flag names.

    Attributes:
        scale: super-resolution factor, 8 (the paper's), 4 or 2.
        num_features: channels of the SR branch feature maps.
        num_steps: number of SR/landmark collaboration steps.
        num_groups: up/down projection groups per feedback block.
        hg_num_features: channels of the feedback hourglass (landmark branch).
        num_keypoints: landmarks predicted (68 for CelebA, 194 for Helen).
        num_fusion_blocks: grouped residual blocks in the attentive fusion.
        detach_attention: stop the SR loss gradient through the attention.

    Example:
        config = DICConfig.x8()
        DICConfig.from_dict(config.to_dict()) == config  # True
        dataclasses.replace(DICConfig.tiny(), scale=4).lr_size  # 32
    """

    scale: int = 8
    num_features: int = 48
    num_steps: int = 4
    num_groups: int = 6
    hg_num_features: int = 256
    num_keypoints: int = 68
    num_fusion_blocks: int = 7
    detach_attention: bool = False

    def __post_init__(self):
        if self.scale not in SCALES:
            raise ValueError(f"DICConfig.scale={self.scale}: expected one of {', '.join(map(str, SCALES))}.")
        if self.num_keypoints not in (68, 194):
            raise ValueError(
                f"DICConfig.num_keypoints={self.num_keypoints}: the attentive fusion "
                "merges 68 (iBUG) or 194 (Helen) landmarks into 5 components."
            )
        for name in ("num_features", "num_steps", "num_groups", "num_fusion_blocks"):
            if getattr(self, name) < 1:
                raise ValueError(f"DICConfig.{name}={getattr(self, name)} must be >= 1.")
        if self.hg_num_features < 4 or self.hg_num_features % 4:
            raise ValueError(
                f"DICConfig.hg_num_features={self.hg_num_features} must be a positive "
                "multiple of 4."
            )

    @property
    def lr_size(self):
        """The default LR side, `HR_SIZE / scale` (16 at x8, 32 at x4, 64 at x2)."""
        return HR_SIZE // self.scale

    @property
    def lr_size_multiple(self):
        """What LR sides must be multiples of: the SR side divides by `SR_SIZE_MULTIPLE`."""
        return SR_SIZE_MULTIPLE // self.scale

    @classmethod
    def x8(cls):
        """The paper's x8 DIC (21,803,849 parameters)."""
        return cls()

    @classmethod
    def x4(cls):
        """DIC at x4 (32x32 -> 128x128) with the paper's widths."""
        return cls(scale=4)

    @classmethod
    def x2(cls):
        """DIC at x2 (64x64 -> 128x128) with the paper's widths."""
        return cls(scale=2)

    @classmethod
    def tiny(cls):
        """A small x8 model for tests and the CPU demo (284,337 parameters).

        Other scales: `dataclasses.replace(DICConfig.tiny(), scale=4)`.
        """
        return cls(
            num_features=8,
            num_steps=3,
            num_groups=2,
            hg_num_features=32,
            num_fusion_blocks=2,
        )

    def to_dict(self):
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values):
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"Unknown DICConfig fields {unknown}; known: {sorted(known)}.")
        return cls(**values)
