"""Facial components: landmark heatmaps merged into the 5 maps the attentive fusion reads.

The components (left eye, right eye, nose, mouth, contour) are sums of the
landmarks' heatmaps, for the 68 iBUG points of CelebA and the 194 of Helen.
"""

import numpy as np
from keras import ops

COMPONENT_NAMES = ("left_eye", "right_eye", "nose", "mouth", "contour")

# Landmark indices of each component, in COMPONENT_NAMES order.
_COMPONENTS_68 = (
    range(36, 42),
    range(42, 48),
    range(27, 36),
    range(48, 68),
    range(0, 27),
)
# Helen's 194 points, with the authors' (end-exclusive) index ranges.
_COMPONENTS_194 = (
    list(range(134, 153)) + list(range(174, 193)),
    list(range(114, 133)) + list(range(154, 173)),
    range(41, 57),
    range(58, 113),
    range(0, 40),
)

# Heatmaps are divided by their spatial maximum, which is clamped from below.
HEATMAP_MAX_FLOOR = 0.05


def component_matrix(num_keypoints):
    """0/1 matrix [num_keypoints, 5] summing landmark heatmaps into components.

    Example:
        component_matrix(68).shape  # (68, 5)
    """
    groups = {68: _COMPONENTS_68, 194: _COMPONENTS_194}.get(num_keypoints)
    if groups is None:
        raise ValueError(
            f"Cannot merge {num_keypoints} landmark heatmaps into facial components: "
            "expected 68 (iBUG) or 194 (Helen) heatmaps."
        )
    matrix = np.zeros((num_keypoints, len(groups)), dtype="float32")
    for component, indices in enumerate(groups):
        matrix[list(indices), component] = 1.0
    return matrix


def merge_heatmaps(heatmaps):
    """Merges landmark heatmaps into the 5 component maps fed to the fusion.

    Each heatmap is divided by its spatial maximum (at least 0.05), then the
    heatmaps of each component are summed.

    Args:
        heatmaps: tensor [B, H, W, K] with K in {68, 194}.

    Returns:
        Tensor [B, H, W, 5]: left eye, right eye, nose, mouth, contour.

    Example:
        merge_heatmaps(np.zeros((1, 32, 32, 68), "float32")).shape  # (1, 32, 32, 5)
    """
    peak = ops.max(heatmaps, axis=(1, 2), keepdims=True)
    normalised = heatmaps / ops.maximum(peak, HEATMAP_MAX_FLOOR)
    matrix = ops.convert_to_tensor(component_matrix(heatmaps.shape[-1]), heatmaps.dtype)
    return ops.einsum("bhwk,kc->bhwc", normalised, matrix)
