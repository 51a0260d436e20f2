"""Puts super-resolved faces back into the photo upscaled by any factor.

The photo is upscaled with Pillow bicubic (`dic_tf.utils.resize.upscale_bicubic`); each SR face
(in the crop frame of `dic_tf.photos.alignment`) is warped into it with the
inverse of its similarity transform and blended through a feathered mask
(`feather_mask`: 1 inside, a smoothstep to 0 over the outer `FEATHER` of the
crop on each side), so the SR face fades into the upscaled photo. Only the
face's bounding rectangle of the upscaled photo is touched, so memory per
face is bounded by the face.

Pixel centres are at integers in every frame: photo pixel `p` is at
`scale * (p + 0.5) - 0.5` in the upscaled photo.
"""

import math

import cv2
import numpy as np
from PIL import Image

from dic_tf.photos import alignment
from dic_tf.utils.resize import resize_bicubic

FEATHER = 0.125


def feather_mask(size, feather=FEATHER):
    """float32 `[size, size]` blend weights: 1 inside, smoothstep to 0 over `feather * size` at each edge.

    Example:
        >>> mask = feather_mask(128)
        >>> float(mask[64, 64]), float(mask[0, 64]) < 0.01
        (1.0, True)
    """
    centres = np.arange(size, dtype=np.float64)
    distance = np.minimum(centres + 0.5, size - 0.5 - centres) / max(feather * size, 1e-9)
    ramp = np.clip(distance, 0.0, 1.0)
    ramp = ramp * ramp * (3.0 - 2.0 * ramp)
    return np.outer(ramp, ramp).astype(np.float32)


def canvas_to_crop(transform, scale):
    """`[2, 3]` map from upscaled-photo pixels to crop pixels, for a photo -> crop `transform`.

    Example:
        >>> canvas_to_crop(np.array([[8.0, 0, 0], [0, 8.0, 0]]), 8)
        array([[ 1. ,  0. , -3.5],
               [ 0. ,  1. , -3.5]])
    """
    linear = transform[:, :2]
    # photo p = (P + 0.5) / scale - 0.5, crop = linear @ p + t.
    return np.column_stack([linear / scale, linear @ np.full(2, 0.5 / scale - 0.5) + transform[:, 2]])


def paste_face(canvas, face, transform, scale, mask=None):
    """Blends an SR face into the upscaled photo, in place.

    Args:
        canvas: uint8 `[scale * H, scale * W, 3]`, the upscaled photo; modified.
        face: uint8 `[S, S, 3]`, the SR face in the crop frame.
        transform: `[2, 3]` similarity photo -> crop of this face.
        scale: the upscaling factor of `canvas`.
        mask: float `[S, S]` blend weights; default `feather_mask(S)`.

    Returns:
        `(x0, y0, x1, y1)`: the rectangle of `canvas` that was touched (empty if none).

    Example:
        >>> canvas = upscale_bicubic(photo, 8)                   # doctest: +SKIP
        >>> paste_face(canvas, sr, transform, 8)                 # doctest: +SKIP
        (280, 96, 552, 368)
    """
    size = face.shape[0]
    mask = feather_mask(size) if mask is None else np.asarray(mask, np.float32)
    to_crop = canvas_to_crop(transform, scale)
    # Canvas pixels per crop pixel: 1 where the face covers `size` canvas pixels (a float that can
    # be 1 +- 1 ulp, so the rounded side decides, not the factor).
    side = max(1, int(round(size * scale / alignment.scale_of(transform))))
    if side != size:
        # Resize the face first with Pillow's bicubic (antialiased when it shrinks): the warp then
        # never scales, and moves the face by whole pixels for a window on the photo's grid.
        face = resize_bicubic(face, side)
        mask = np.asarray(Image.fromarray(mask).resize((side, side), Image.BILINEAR))
        to_crop = to_crop * (side / size)
        to_crop[:, 2] += 0.5 * side / size - 0.5
        size = side
    corners = np.array([[-0.5, -0.5], [size - 0.5, -0.5], [-0.5, size - 0.5], [size - 0.5, size - 0.5]])
    outline = alignment.apply(alignment.invert(to_crop), corners)
    height, width = canvas.shape[:2]
    x0, y0 = (max(0, math.floor(v) - 1) for v in outline.min(axis=0))
    x1, y1 = (min(limit, math.ceil(v) + 2) for v, limit in zip(outline.max(axis=0), (width, height)))
    if x1 <= x0 or y1 <= y0:
        return (x0, y0, x0, y0)
    region_to_crop = to_crop.copy()
    region_to_crop[:, 2] += to_crop[:, :2] @ np.array([x0, y0], np.float64)
    flags = cv2.WARP_INVERSE_MAP
    warped = cv2.warpAffine(
        face, region_to_crop, (x1 - x0, y1 - y0), flags=flags | cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE
    ).astype(np.float32)
    weight = cv2.warpAffine(
        mask, region_to_crop, (x1 - x0, y1 - y0), flags=flags | cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT, borderValue=0.0,
    )[..., None]
    region = canvas[y0:y1, x0:x1].astype(np.float32)
    canvas[y0:y1, x0:x1] = np.clip(np.round(region + weight * (warped - region)), 0, 255).astype(np.uint8)
    return (x0, y0, x1, y1)
