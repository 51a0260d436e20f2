"""Where the 5 MTCNN landmarks lie in DIC's prepared training crop.

DIC is trained on crops made by the official preparation
(`dic_tf.data.preparation.crop_and_resize`): the square annotation box
(1.3 x the 68 landmarks' larger extent, centred on them) resized to 128x128.
`TEMPLATE_128` is the mean 68-point face in that crop, reduced to the 5 points
a face detector gives (`five_points`): the centres of the two eyes (iBUG
points 36-41 and 42-47), the nose tip (30) and the mouth corners (48, 54),
ordered as they appear from the image's left to its right (the eye and mouth
corner with the smaller x first).

It was computed with `template_from_annotations` from the 1,199 development
faces (Helen training subset + AFW, 300-W annotations) whose annotations the
project keeps outside the repository (`shared/faces/info.json`); only these
10 numbers are stored. The per-face standard deviation is 5-16 px (pose
varies), so the template is a mean face, not any one face.

Coordinates are `(x, y)` in HR pixels, pixel centres at integers (the
official landmark scaling `(p - box_min) * 128 / side` differs from exact
pixel-centre mapping by `0.5 * 128 / side - 0.5`, 0.02 px for these faces).
"""

import numpy as np

TEMPLATE_HR_SIZE = 128
TEMPLATE_128 = np.array(
    [
        [43.500, 36.558],  # image-left eye centre (iBUG 36-41)
        [84.376, 35.977],  # image-right eye centre (iBUG 42-47)
        [64.544, 58.581],  # nose tip (iBUG 30)
        [46.299, 79.307],  # image-left mouth corner (iBUG 48)
        [82.471, 78.746],  # image-right mouth corner (iBUG 54)
    ]
)
POINT_NAMES = ("left_eye", "right_eye", "nose", "mouth_left", "mouth_right")


def five_points(landmarks):
    """The 5 template points of 68-point iBUG landmarks.

    Args:
        landmarks: float `[..., 68, 2]` `(x, y)`.

    Returns:
        float64 `[..., 5, 2]` in `POINT_NAMES` order.

    Example:
        >>> five_points(np.zeros((68, 2))).shape
        (5, 2)
    """
    landmarks = np.asarray(landmarks, np.float64)
    if landmarks.shape[-2:] != (68, 2):
        raise ValueError(f"five_points expects [..., 68, 2] landmarks, got shape {landmarks.shape}.")
    return np.stack(
        [
            landmarks[..., 36:42, :].mean(axis=-2),
            landmarks[..., 42:48, :].mean(axis=-2),
            landmarks[..., 30, :],
            landmarks[..., 48, :],
            landmarks[..., 54, :],
        ],
        axis=-2,
    )


def template_from_annotations(faces, hr_size=TEMPLATE_HR_SIZE):
    """The mean 5-point face in the official HR crop of annotated faces.

    Args:
        faces: iterable of `dic_tf.data.annotations.FaceAnnotation` (square boxes).
        hr_size: HR side of the crop.

    Returns:
        float64 `[5, 2]`; `template_from_annotations(development faces)` is `TEMPLATE_128`.

    Example:
        >>> from dic_tf.data import annotations
        >>> faces, _ = annotations.read_annotations("shared/faces/info.json")  # doctest: +SKIP
        >>> template_from_annotations(faces).round(3)                       # doctest: +SKIP
    """
    points = []
    for face in faces:
        xmin, ymin, xmax, ymax = face.bbox
        if xmax - xmin != ymax - ymin:
            raise ValueError(f"{face.name}: box {face.bbox} is not square; the template needs the official crop.")
        points.append((np.asarray(face.landmarks, np.float64) - (xmin, ymin)) * hr_size / (xmax - xmin))
    if not points:
        raise ValueError("template_from_annotations needs at least one face.")
    return five_points(np.mean(points, axis=0))


def template(hr_size):
    """`TEMPLATE_128` scaled to an HR crop of side `hr_size` (pixel centres kept at integers).

    Example:
        >>> template(128)[0]
        array([43.5  , 36.558])
    """
    return (TEMPLATE_128 + 0.5) * hr_size / TEMPLATE_HR_SIZE - 0.5
