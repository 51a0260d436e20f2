"""300-W `.pts` landmark files: `version: 1`, `n_points: N`, `{`, N lines `x y`, `}`."""

import numpy as np


class PtsFormatError(ValueError):
    """A `.pts` file does not follow the format; the message names the file.

    Example:
        try:
            read_pts("broken.pts")
        except PtsFormatError as error:
            print(error)  # "broken.pts: expected '{', 68 lines 'x y' and '}' after the header"
    """


def read_pts(path):
    """Reads a 300-W `.pts` file.

    Args:
        path: file with `version: 1`, `n_points: N`, `{`, N lines `x y`, `}`.

    Returns:
        float64 `[N, 2]` of `(x, y)` as written in the file.

    Raises:
        PtsFormatError: naming the file and what was expected.

    Example:
        read_pts("img_001.pts").shape  # (68, 2)
    """
    with open(path, encoding="utf-8") as f:
        lines = [line.strip() for line in f if line.strip()]
    header = {}
    while lines and ":" in lines[0]:
        key, value = lines.pop(0).split(":", 1)
        header[key.strip()] = value.strip()
    if "n_points" not in header or not header["n_points"].isdigit():
        raise PtsFormatError(f"{path}: expected an 'n_points: N' header line")
    count = int(header["n_points"])
    if len(lines) != count + 2 or lines[0] != "{" or lines[-1] != "}":
        raise PtsFormatError(f"{path}: expected '{{', {count} lines 'x y' and '}}' after the header")
    try:
        points = np.array([[float(v) for v in line.split()] for line in lines[1:-1]], dtype=np.float64)
    except ValueError as error:
        raise PtsFormatError(f"{path}: point lines must be two numbers 'x y' ({error})") from error
    if points.shape != (count, 2):
        raise PtsFormatError(f"{path}: point lines must be two numbers 'x y', got shape {points.shape}")
    return points


def write_pts(path, landmarks):
    """Writes `[N, 2]` landmarks as a 300-W `.pts` file.

    Example:
        write_pts("img_001.pts", landmarks)
    """
    landmarks = np.asarray(landmarks, dtype=np.float64)
    body = "\n".join(f"{x:.6f} {y:.6f}" for x, y in landmarks)
    with open(path, "w", encoding="utf-8") as f:
        f.write(f"version: 1\nn_points: {len(landmarks)}\n{{\n{body}\n}}\n")
