"""Image files: the one extension list, reader and PNG writer of dic_tf, and their names (no TensorFlow).

`read_rgb` is how every program reads a picture (prepare_data.py, evaluate.py,
predict.py and `predict.py --photos`). It returns 8-bit RGB, upright:

* EXIF orientation is applied (the pixels are turned as a viewer shows them,
  as `cv2.imread` does for the authors' preparation);
* grayscale and palette images are copied to R, G and B, CMYK uses Pillow's
  conversion and alpha is dropped;
* 16-bit gray is rounded to 8 bits as `round(v / 257)` (Pillow reads 16-bit
  colour PNGs as their high bytes); float images are refused;
* with `max_pixels`, larger pictures are refused from the header, before any
  pixel is decoded (a 10,000 x 10,000 photo costs no memory).

Every refusal is an `ImageReadError` whose message is one line naming the file.
`write_png` and `write_jpeg` write atomically (`dic_tf.utils.atomic`): a file is never seen
half-written, and it replaces an existing file only when asked to; they embed an RGB colour
profile when given one (`read_rgb_and_profile` of the input).

Example:
    names = list_images("faces")                     # ["a.jpg", "b.png"]
    image = read_rgb(os.path.join("faces", names[0]))  # uint8 [H, W, 3], upright
    write_png("out/a.png", image)
"""

import io
import os
import warnings

import numpy as np
from PIL import Image, ImageOps

from dic_tf.utils import atomic

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".ppm", ".tif", ".tiff", ".webp")
"""The image files dic_tf lists (lower case; names are matched case-insensitively)."""

_ORIENTATION = 0x0112
_SIXTEEN_BIT_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I")


class ImageReadError(ValueError):
    """A file cannot be used as an image; the message is one line naming the file.

    Example:
        try:
            image = read_rgb("broken.png")
        except ImageReadError as error:
            print(error)  # broken.png: not a readable image (...).
    """


def is_image_name(name):
    """Whether a file name has one of `IMAGE_EXTENSIONS` (any case).

    Example:
        >>> is_image_name("A.JPG"), is_image_name("notes.txt")
        (True, False)
    """
    return name.lower().endswith(IMAGE_EXTENSIONS)


def list_images(folder):
    """Sorted names of the image files (by extension) directly inside `folder`.

    Example:
        list_images("data/test/HR")  # ["000001.png", ...]
    """
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"Image folder {folder!r} does not exist.")
    return sorted(
        name for name in os.listdir(folder) if is_image_name(name) and os.path.isfile(os.path.join(folder, name))
    )


def image_size(path):
    """`(width, height)` of an image file as `read_rgb` returns it (EXIF rotation applied), from its header.

    Example:
        image_size("phone.jpg")  # (3024, 4032): stored 4032x3024, EXIF orientation 6
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # only the header is read
            with Image.open(path) as image:
                width, height = image.size
                orientation = _orientation(image)
    except Image.DecompressionBombError as error:
        raise ImageReadError(f"{path}: {_one_line(error)}") from error
    except (OSError, ValueError, SyntaxError) as error:
        raise ImageReadError(f"{path}: not a readable image ({_one_line(error)}).") from error
    return (height, width) if orientation in (5, 6, 7, 8) else (width, height)


def read_rgb(path, max_pixels=None):
    """uint8 `[H, W, 3]` RGB of an image file, upright (see the module docstring).

    Args:
        path: image file.
        max_pixels: larger images are refused before decoding; default
            Pillow's own limit (`Image.MAX_IMAGE_PIXELS`).

    Returns:
        uint8 `[H, W, 3]`.

    Raises:
        ImageReadError: one line naming the file.

    Example:
        read_rgb("face.jpg").shape  # (H, W, 3), EXIF orientation applied
    """
    return read_rgb_and_profile(path, max_pixels)[0]


def read_rgb_and_profile(path, max_pixels=None):
    """`read_rgb`'s pixels and the file's ICC colour profile when it describes RGB, from one opening.

    The profile (a phone's Display P3, Adobe RGB) is what an output of these
    pixels must carry to show the same colours; a CMYK, grayscale or Lab
    profile is None (those pixels are converted to RGB).

    Example:
        image, profile = read_rgb_and_profile("phone.jpg")  # profile: Display P3's bytes
    """
    if max_pixels is not None:
        width, height = image_size(path)
        if width * height > max_pixels:
            raise ImageReadError(
                f"{path}: {width}x{height} pixels ({width * height / 1e6:.1f} MP) is above the "
                f"{max_pixels / 1e6:.1f} MP read here; downscale or crop it first."
            )
    try:
        with warnings.catch_warnings():
            if max_pixels is not None:
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # checked above
            with Image.open(path) as image:
                profile = _rgb_profile(image.info.get("icc_profile"))
                return _to_rgb(ImageOps.exif_transpose(image), path), profile
    except ImageReadError:
        raise
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as error:
        raise ImageReadError(f"{path}: not a readable image ({_one_line(error)}).") from error


def write_png(path, image, overwrite=False, icc_profile=None):
    """Writes uint8 `[H, W, 3]` RGB as a PNG file, atomically; creates its folder.

    Args:
        path: the PNG file.
        image: uint8 `[H, W, 3]`.
        overwrite: replace an existing file; without it an existing file is
            left as it was and `FileExistsError` raised.
        icc_profile: an RGB ICC profile to embed (`read_rgb_and_profile`), or None.

    Example:
        write_png("out/sr/a.png", sr, overwrite=True)
    """
    _write(path, image, overwrite, icc_profile, format="PNG")


def write_jpeg(path, image, quality=95, overwrite=False, icc_profile=None):
    """Writes uint8 `[H, W, 3]` RGB as a JPEG file (no chroma subsampling), atomically; as `write_png`.

    Example:
        write_jpeg("out/photo_x2.jpg", canvas)  # quality 95
    """
    _write(path, image, overwrite, icc_profile, format="JPEG", quality=quality, subsampling=0)


def jpeg_round_trip(image, quality):
    """uint8 `[H, W, 3]` RGB encoded as JPEG at `quality` (Pillow's default 4:2:0 chroma, as cameras
    and web resizers write) and decoded again: what a JPEG copy of the picture holds.

    Example:
        >>> jpeg_round_trip(np.full((8, 8, 3), 128, np.uint8), 75).shape
        (8, 8, 3)
    """
    buffer = io.BytesIO()
    Image.fromarray(np.asarray(image)).save(buffer, format="JPEG", quality=int(quality))
    return np.array(Image.open(buffer).convert("RGB"))


def _write(path, image, overwrite, icc_profile, **options):
    buffer = io.BytesIO()
    if icc_profile:
        options["icc_profile"] = icc_profile
    Image.fromarray(np.asarray(image)).save(buffer, **options)
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    (atomic.write_file if overwrite else atomic.write_new_file)(path, buffer.getvalue())


def file_stem(name):
    """File name without folder and extension.

    Example:
        >>> file_stem("faces/a.png")
        'a'
    """
    return os.path.splitext(os.path.basename(name))[0]


def size_text(image):
    """`"WxH"` of an `(H, W, ...)` image, for messages.

    Example:
        >>> size_text(np.zeros((128, 96, 3)))
        '96x128'
    """
    return f"{image.shape[1]}x{image.shape[0]}"


def match_files(names, reference_names, folder, reference_folder):
    """Pairs each file with its counterpart in a reference folder (an SR or LR image with its HR).

    The reference file with the same name is used; failing that, the unique
    one with the same stem (e.g. `x.png` vs `x.jpg`).

    Returns:
        (list of `(name, reference name)`, sorted reference names left unpaired).

    Example:
        pairs, unmatched = match_files(["a.png"], ["a.jpg", "b.png"], sr_dir, hr_dir)  # [("a.png", "a.jpg")], ["b.png"]
    """
    by_stem = {}
    for name in reference_names:
        by_stem.setdefault(file_stem(name), []).append(name)
    reference_set = set(reference_names)
    pairs = []
    for name in names:
        if name in reference_set:
            pairs.append((name, name))
            continue
        candidates = by_stem.get(file_stem(name), [])
        if not candidates:
            raise FileNotFoundError(
                f"No ground truth for {os.path.join(folder, name)!r}: expected "
                f"{os.path.join(reference_folder, name)!r} (or the same stem with another extension)."
            )
        if len(candidates) > 1:
            raise ValueError(f"Ambiguous ground truth for {name!r} in {reference_folder!r}: {sorted(candidates)}.")
        pairs.append((name, candidates[0]))
    unmatched = sorted(reference_set - {reference for _, reference in pairs})
    return pairs, unmatched


def output_stems(paths):
    """Distinct output stems for input images: each file's stem, or its whole name on a clash.

    Inputs whose stems are unique keep them; inputs sharing a stem (a.png,
    a.jpg) keep their whole name (a.png, a.jpg), so that outputs named after
    them never collide.

    Raises:
        ValueError naming both inputs when two would still share a stem.

    Example:
        >>> output_stems(["in/a.png", "in/a.jpg", "in/b.jpg"])
        ['a.png', 'a.jpg', 'b']
    """
    names = [os.path.basename(path) for path in paths]
    stems = [file_stem(name) for name in names]
    chosen = [stem if stems.count(stem) == 1 else name for name, stem in zip(names, stems)]
    owner = {}
    for path, stem in zip(paths, chosen):
        if stem in owner:
            raise ValueError(f"{owner[stem]} and {path} would both give outputs named {stem}; rename one.")
        owner[stem] = path
    return chosen


def output_names(paths):
    """Distinct PNG file names for input images: `<stem>.png`, or `<name>.png` on a clash (`output_stems`).

    Example:
        >>> output_names(["in/a.png", "in/a.jpg", "in/b.jpg"])
        ['a.png.png', 'a.jpg.png', 'b.png']
    """
    return [f"{stem}.png" for stem in output_stems(paths)]


def _orientation(image):
    """EXIF orientation (1 = upright) of an open image's size, without decoding its pixels."""
    if image.format == "TIFF":  # Pillow's TIFF reader turns it itself, and (Pillow >= 11) reports the upright size
        return 1
    if image.format == "PNG":  # `getexif()` decodes a PNG to find late chunks: the header's block only
        exif = Image.Exif()
        if "exif" in image.info:
            exif.load(image.info["exif"])
        return exif.get(_ORIENTATION, 1)
    return image.getexif().get(_ORIENTATION, 1)


def _rgb_profile(profile):
    """An ICC profile when it describes RGB (its header holds the data colour space at bytes 16-19), else None."""
    return profile if profile and len(profile) >= 20 and profile[16:20] == b"RGB " else None


def _to_rgb(image, path):
    if image.mode in _SIXTEEN_BIT_MODES:
        values = np.asarray(image).astype(np.int64)
        if values.min() < 0 or values.max() > 65535:
            raise ImageReadError(f"{path}: {image.mode} pixel values outside 0-65535; expected an 8- or 16-bit image.")
        gray = np.round(values / 257.0).astype(np.uint8)
        return np.repeat(gray[..., None], 3, axis=-1)
    if image.mode == "F":
        raise ImageReadError(f"{path}: floating-point pixels (mode F); expected an 8- or 16-bit image.")
    return np.asarray(image.convert("RGB"))


def _one_line(error):
    return " ".join(str(error).split()) or type(error).__name__
