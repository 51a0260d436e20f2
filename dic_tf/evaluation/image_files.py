"""Image files of an evaluation: listing, reading, pairing by name, writing PNGs."""

import os

import numpy as np
from PIL import Image

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")


def list_images(folder):
    """Sorted image file names (by extension) directly inside `folder`.

    Example:
        list_images("data/test/HR")  # ["000001.png", ...]
    """
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"Image folder {folder!r} does not exist.")
    return sorted(
        name for name in os.listdir(folder)
        if name.lower().endswith(IMAGE_EXTENSIONS)
        and os.path.isfile(os.path.join(folder, name))
    )


def load_rgb(path):
    """Reads an RGB image file.

    Returns:
        uint8 array `(H, W, 3)`.

    Example:
        hr = load_rgb("data/test/HR/000001.png")  # uint8 (128, 128, 3)
    """
    try:
        with Image.open(path) as image:
            image.load()
            mode = image.mode
            array = np.asarray(image)
    except (OSError, ValueError) as error:
        raise ValueError(f"Cannot read image {path!r}: {error}") from error
    if mode != "RGB":
        raise ValueError(
            f"Image {path!r} has mode {mode!r}; the protocol needs 8-bit RGB images."
        )
    return array


def match_files(sr_names, hr_names, sr_dir, hr_dir):
    """Pairs each SR file with its HR counterpart.

    The HR file with the same name is used; failing that, the unique HR file
    with the same stem (e.g. `x.png` vs `x.jpg`).

    Returns:
        (list of `(sr_name, hr_name)`, sorted list of unmatched HR names).

    Example:
        pairs, unmatched = match_files(["a.png"], ["a.jpg", "b.png"], sr_dir, hr_dir)  # [("a.png", "a.jpg")], ["b.png"]
    """
    by_stem = {}
    for name in hr_names:
        by_stem.setdefault(os.path.splitext(name)[0], []).append(name)
    hr_set = set(hr_names)
    pairs = []
    for sr_name in sr_names:
        if sr_name in hr_set:
            pairs.append((sr_name, sr_name))
            continue
        candidates = by_stem.get(os.path.splitext(sr_name)[0], [])
        if not candidates:
            raise FileNotFoundError(
                f"No ground truth for {os.path.join(sr_dir, sr_name)!r}: expected "
                f"{os.path.join(hr_dir, sr_name)!r} (or the same stem with another extension)."
            )
        if len(candidates) > 1:
            raise ValueError(
                f"Ambiguous ground truth for {sr_name!r} in {hr_dir!r}: {sorted(candidates)}."
            )
        pairs.append((sr_name, candidates[0]))
    unmatched = sorted(hr_set - {hr for _, hr in pairs})
    return pairs, unmatched


def write_png(output_dir, relative_path, image):
    """Writes uint8 `(H, W, 3)` `image` as PNG at `output_dir/relative_path`; returns `relative_path`.

    Example:
        write_png("runs/eval", "sr/a.png", sr)  # returns "sr/a.png"
    """
    path = os.path.join(output_dir, relative_path)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    Image.fromarray(image).save(path)
    return relative_path


def file_stem(name):
    """File name without folder and extension.

    Example:
        file_stem("faces/a.png")  # "a"
    """
    return os.path.splitext(os.path.basename(name))[0]


def size_text(image):
    """`"WxH"` of an `(H, W, ...)` image, for messages.

    Example:
        size_text(np.zeros((128, 96, 3)))  # "96x128" (width x height)
    """
    return f"{image.shape[1]}x{image.shape[0]}"
