"""Reads a photo file as 8-bit RGB, or says in one line why it cannot.

Handled: EXIF orientation (the pixels are turned upright, as
`dic_tf.data.preparation.load_image`), grayscale and palette images (gray
copied to R, G and B), CMYK JPEGs (Pillow's conversion), alpha (dropped),
16-bit PNGs (16-bit gray rounded to 8 bits as `round(v / 257)`; Pillow already
reads 16-bit colour PNGs as their high bytes). Refused with `PhotoError`:
files Pillow cannot decode, float images, and photos above `max_pixels`
(checked from the header, before any pixel is decoded, so a 10,000 x 10,000
photo costs no memory).
"""

import warnings

import numpy as np
from PIL import Image, ImageOps

MAX_PIXELS = 2**21
"""Largest photo read by default (2.1 MP, e.g. 1448 x 1448): its x8 output has
64 times as many pixels (134 MP, 403 MB as 8-bit RGB)."""

_ORIENTATION = 0x0112
_SIXTEEN_BIT_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I")


class PhotoError(ValueError):
    """A photo cannot be used; the message is one line naming the file.

    Example:
        try:
            photo = read_photo("missing.jpg")
        except PhotoError as error:
            print(error)
    """


def photo_size(path):
    """`(width, height)` from the file header (EXIF rotation applied), decoding no pixels.

    Example:
        >>> photo_size("group.jpg")  # doctest: +SKIP
        (640, 480)
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # the size is checked here
            with Image.open(path) as image:
                width, height = image.size
                # From the raw EXIF block: `getexif()` decodes a PNG's pixels to find late chunks.
                exif = Image.Exif()
                if "exif" in image.info:
                    exif.load(image.info["exif"])
                orientation = exif.get(_ORIENTATION, 1)
    except Image.DecompressionBombError as error:
        raise PhotoError(f"{path}: {error}") from error
    except (OSError, ValueError, SyntaxError) as error:
        raise PhotoError(f"{path}: not a readable image ({_one_line(error)}).") from error
    return (height, width) if orientation in (5, 6, 7, 8) else (width, height)


def read_photo(path, max_pixels=MAX_PIXELS):
    """uint8 `[H, W, 3]` RGB of a photo file, upright.

    Args:
        path: image file.
        max_pixels: larger photos are refused before decoding.

    Returns:
        uint8 `[H, W, 3]`.

    Example:
        >>> read_photo("group.jpg").shape  # doctest: +SKIP
        (480, 640, 3)
    """
    width, height = photo_size(path)
    if width * height > max_pixels:
        raise PhotoError(
            f"{path}: {width}x{height} pixels ({width * height / 1e6:.1f} MP) is above the "
            f"{max_pixels / 1e6:.1f} MP that are super-resolved (the x8 output has 64 times as many "
            f"pixels); downscale or crop it first."
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # checked above
            with Image.open(path) as image:
                return _to_rgb(ImageOps.exif_transpose(image), path)
    except PhotoError:
        raise
    except (OSError, ValueError, SyntaxError) as error:
        raise PhotoError(f"{path}: not a readable image ({_one_line(error)}).") from error


def _to_rgb(image, path):
    if image.mode in _SIXTEEN_BIT_MODES:
        values = np.asarray(image).astype(np.int64)
        if values.min() < 0 or values.max() > 65535:
            raise PhotoError(f"{path}: {image.mode} pixel values outside 0-65535; expected an 8- or 16-bit image.")
        gray = np.round(values / 257.0).astype(np.uint8)
        return np.repeat(gray[..., None], 3, axis=-1)
    if image.mode == "F":
        raise PhotoError(f"{path}: floating-point pixels (mode F); expected an 8- or 16-bit image.")
    return np.asarray(image.convert("RGB"))


def _one_line(error):
    return " ".join(str(error).split()) or type(error).__name__
