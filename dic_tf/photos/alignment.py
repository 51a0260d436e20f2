"""The similarity transform photo -> DIC crop, and the sampling of a crop straight from the photo.

A transform is a float64 `[2, 3]` matrix `A` with `crop = A @ [x, y, 1]`,
pixel centres at integers in both frames, of the form `s * R(theta) | t`.
The transform to the 128-px official crop (`template.TEMPLATE_HR_SIZE`) fixes
the face's square; `rescale` gives the same square at any side (a model's LR,
its SR).

`align_face` samples a crop of any side the way the official preparation
(`dic_tf.data.preparation.crop_and_resize`: crop, then Pillow bicubic,
antialiased by the scale) samples its HR, in one resampling of the face:

1. a turned face is rotated by `theta` at the photo's own scale (bicubic with
   Pillow's kernel, `bicubic_warp`; 1 photo pixel per pixel) into an upright
   image covering the crop square rounded out to whole pixels; an upright
   face is cropped (no interpolation);
2. that image is resized to the crop side with Pillow bicubic over the exact,
   possibly fractional, crop square (`dic_tf.utils.resize.resize_bicubic(box=...)`),
   whose filter widens with the shrink factor: the antialiasing.

`dic_tf.photos.photo` samples a model's LR with it through an upright window on
the photo's pixel grid (`photo.window_transform`): step 1 is then a crop and step
2 a Pillow resize by a power of two, or none. A turned face's template crop
(`scripts/evaluate_photo_alignment.py` compares it with the official
preparation's) goes through both steps: when the face is larger than the crop,
step 1's interpolation runs on the photo's finer grid, so its blur lies above the
crop's frequencies and Pillow's filter in step 2 is the one low-pass the face goes
through; a turned face smaller than the crop is interpolated straight into it in
one step (`bicubic_warp`), since turning it at the photo's coarser scale first
would blur it twice. For an upright face whose crop square falls on whole pixels,
the 128 crop equals the official preparation's bit for bit.
"""

import math

import numpy as np

from dic_tf.utils.resize import resize_bicubic

UPRIGHT_TOLERANCE = 1e-9


def similarity_transform(source, target):
    """Least-squares similarity (rotation, uniform scale, translation; no reflection).

    Umeyama's closed form: minimises `sum |A @ [source_i, 1] - target_i|^2`.

    Args:
        source: float `[N, 2]` points, N >= 2.
        target: float `[N, 2]` points.

    Returns:
        float64 `[2, 3]`.

    Example:
        >>> similarity_transform([[0, 0], [1, 0]], [[1, 1], [1, 3]]).round(6)
        array([[ 0., -2.,  1.],
               [ 2.,  0.,  1.]])
    """
    source = np.asarray(source, np.float64)
    target = np.asarray(target, np.float64)
    if source.shape != target.shape or source.ndim != 2 or source.shape[1] != 2 or len(source) < 2:
        raise ValueError(f"similarity_transform needs two [N >= 2, 2] arrays, got {source.shape} and {target.shape}.")
    source_mean, target_mean = source.mean(axis=0), target.mean(axis=0)
    source_centred, target_centred = source - source_mean, target - target_mean
    variance = np.sum(source_centred**2)
    if variance == 0:
        raise ValueError("similarity_transform: the source points all coincide.")
    covariance = target_centred.T @ source_centred
    u, singular, vt = np.linalg.svd(covariance)
    sign = np.diag([1.0, np.sign(np.linalg.det(u @ vt)) or 1.0])
    rotation = u @ sign @ vt
    scale = np.trace(np.diag(singular) @ sign) / variance
    translation = target_mean - scale * rotation @ source_mean
    return np.column_stack([scale * rotation, translation])


def invert(transform):
    """The inverse `[2, 3]` affine transform.

    Example:
        >>> invert(np.array([[2.0, 0, 4], [0, 2.0, 6]]))
        array([[ 0.5,  0. , -2. ],
               [ 0. ,  0.5, -3. ]])
    """
    linear = np.linalg.inv(transform[:, :2])
    return np.column_stack([linear, -linear @ transform[:, 2]])


def apply(transform, points):
    """`[..., 2]` points mapped by a `[2, 3]` transform.

    Example:
        >>> apply(np.array([[2.0, 0, 4], [0, 2.0, 6]]), [[1.0, 1.0]])
        array([[6., 8.]])
    """
    points = np.asarray(points, np.float64)
    return points @ transform[:, :2].T + transform[:, 2]


def scale_of(transform):
    """Crop pixels per photo pixel of a similarity transform.

    Example:
        >>> scale_of(np.array([[0.0, -2.0, 1.0], [2.0, 0.0, 1.0]]))
        2.0
    """
    return float(math.sqrt(abs(np.linalg.det(transform[:, :2]))))


def crop_side(transform, hr_size):
    """Side of the crop square in photo pixels (`hr_size / scale`).

    Example:
        >>> round(crop_side(np.array([[4.0, 0.0, 0.0], [0.0, 4.0, 0.0]]), 128), 9)
        32.0
    """
    return hr_size / scale_of(transform)


def rescale(transform, size, from_size):
    """The photo -> crop transform of the same square sampled at side `size` instead of `from_size`.

    Example:
        >>> rescale(np.array([[1.0, 0, 0], [0, 1.0, 0]]), 16, 128)
        array([[ 0.125 ,  0.    , -0.4375],
               [ 0.    ,  0.125 , -0.4375]])
    """
    factor = size / from_size  # pixel centres: crop' = (crop + 0.5) * factor - 0.5
    return np.column_stack([transform[:, :2] * factor, transform[:, 2] * factor + 0.5 * factor - 0.5])


def align_face(photo, transform, hr_size):
    """The crop of a face, sampled from the photo in one resampling (see the module docstring).

    Args:
        photo: uint8 `[H, W, 3]` RGB.
        transform: `[2, 3]` similarity photo -> crop (see `similarity_transform`).
        hr_size: side of the crop (a 128 HR crop, or a model's LR).

    Returns:
        uint8 `[hr_size, hr_size, 3]`. Parts of the crop outside the photo
        repeat the photo's edge pixels.

    Example:
        >>> A = similarity_transform(face.points, template.template(128))  # doctest: +SKIP
        >>> hr = align_face(photo, A, 128)                                  # doctest: +SKIP
        >>> lr = align_face(photo, rescale(A, 16, 128), 16)                 # doctest: +SKIP
    """
    scale = scale_of(transform)
    rotation = transform[:, :2] / scale
    if scale >= 1 and not _is_upright(rotation):
        # Upsampling: one bicubic interpolation straight into the crop (Pillow's kernel,
        # as its resize), instead of turning the photo at its own, coarser scale first.
        return _warp_up(photo, transform, hr_size)
    # Upright frame q = crop / scale = R p + offset: the photo turned by theta, at its own scale.
    # The crop square's edges [-0.5, hr_size - 0.5] become [low, high] there.
    offset = transform[:, 2] / scale
    low, high = -0.5 / scale, (hr_size - 0.5) / scale
    # Upright pixel (i, j) has its centre at q = offset + shift + (i, j): with R = I these
    # are photo pixel centres, so an upright face is cropped, not resampled.
    shift = np.floor(low - offset + 0.5 + 1e-9)
    size = (np.ceil(high - offset - shift - 0.5 - 1e-9) + 1).astype(int)
    upright = _upright_image(photo, rotation, shift, size)
    box_low = np.maximum(low - offset - shift + 0.5, 0.0)  # >= -1e-9 before rounding noise is cut
    box_high = np.minimum(box_low + hr_size / scale, size)
    box = (box_low[0], box_low[1], box_high[0], box_high[1])
    return resize_bicubic(upright, hr_size, box=box)


def _is_upright(rotation):
    return abs(rotation[0, 1]) < UPRIGHT_TOLERANCE and rotation[0, 0] > 0


def _warp_up(photo, transform, hr_size):
    """The crop sampled straight from the photo by bicubic interpolation (for upsampling)."""
    return bicubic_warp(photo, invert(transform), (hr_size, hr_size))


def _upright_image(photo, rotation, shift, size):
    """uint8 `[size[1], size[0], 3]`: pixel (i, j) is the photo at `p = R^T (shift + (i, j))`."""
    width, height = int(size[0]), int(size[1])
    if _is_upright(rotation):
        return _padded_crop(photo, int(shift[0]), int(shift[1]), width, height)
    return bicubic_warp(photo, np.column_stack([rotation.T, rotation.T @ shift]), (width, height))


def bicubic_warp(image, to_source, size, rows_per_chunk=64):
    """Bicubic interpolation with Pillow's resize kernel (Keys, a = -0.5) along an affine map.

    OpenCV's cubic (a = -0.75) and Pillow's `Image.transform` (a = -1) use
    other kernels; this one is the kernel of the official Pillow bicubic resize.

    Args:
        image: uint8 `[H, W, C]`.
        to_source: `[2, 3]` map from output pixel centres to `image` pixel centres.
        size: `(width, height)` of the output.
        rows_per_chunk: output rows interpolated at once (bounds the memory).

    Returns:
        uint8 `[height, width, C]`; outside `image` its edge pixels are repeated.

    Example:
        >>> bicubic_warp(np.full((4, 4, 3), 7, np.uint8), np.array([[0.5, 0, 0], [0, 0.5, 0]]), (8, 8))[0, 0]
        array([7, 7, 7], dtype=uint8)
    """
    width, height = size
    output = np.empty((height, width, image.shape[2]), np.uint8)
    columns = np.arange(width, dtype=np.float64)
    for start in range(0, height, rows_per_chunk):
        rows = np.arange(start, min(start + rows_per_chunk, height), dtype=np.float64)
        x = to_source[0, 0] * columns[None, :] + to_source[0, 1] * rows[:, None] + to_source[0, 2]
        y = to_source[1, 0] * columns[None, :] + to_source[1, 1] * rows[:, None] + to_source[1, 2]
        x_taps, x_weights = _keys_taps(x, image.shape[1])
        y_taps, y_weights = _keys_taps(y, image.shape[0])
        total = np.zeros(x.shape + image.shape[2:], np.float64)
        for y_tap, y_weight in zip(y_taps, y_weights):
            for x_tap, x_weight in zip(x_taps, x_weights):
                total += (y_weight * x_weight)[..., None] * image[y_tap, x_tap]
        output[start:start + len(rows)] = np.clip(np.round(total), 0, 255).astype(np.uint8)
    return output


def _keys_taps(coordinate, limit, a=-0.5):
    """The 4 clamped source indices and Keys cubic weights around each coordinate."""
    base = np.floor(coordinate)
    taps, weights = [], []
    for offset in (-1, 0, 1, 2):
        distance = np.abs(coordinate - (base + offset))
        near = (a + 2) * distance**3 - (a + 3) * distance**2 + 1
        far = a * distance**3 - 5 * a * distance**2 + 8 * a * distance - 4 * a
        taps.append(np.clip(base + offset, 0, limit - 1).astype(np.intp))
        weights.append(np.where(distance <= 1, near, np.where(distance < 2, far, 0.0)))
    return taps, weights


def _padded_crop(photo, x0, y0, width, height):
    """`photo[y0:y0 + height, x0:x0 + width]`, edge pixels repeated where it leaves the photo."""
    rows = np.clip(np.arange(y0, y0 + height), 0, photo.shape[0] - 1)
    cols = np.clip(np.arange(x0, x0 + width), 0, photo.shape[1] - 1)
    return np.ascontiguousarray(photo[rows[:, None], cols[None, :]])
