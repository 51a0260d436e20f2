"""Deterministic synthetic faces with exact 68-point landmarks (demo and test data).

A parametric 3D face (iBUG 68-point layout: 17 jaw points, 5 + 5 brow points,
4 nose-bridge + 5 nose-base points, 6 + 6 eye points, 12 outer + 8 inner
mouth points) is posed (yaw, pitch, roll, scale, translation), projected
orthographically and drawn with OpenCV anti-aliasing at 1/16-pixel precision:
the jaw is the face outline, and brows, eyelids, nose base and lips are drawn
through their landmarks, so the landmarks are exactly where the features are.
Face shape, skin tone, hair, lighting gradient and a textured background vary
per face. Face `i` depends only on `(seed, i)`, and equal seeds give
byte-identical images.
"""

import os
from typing import NamedTuple

import cv2
import numpy as np

from dic_tf.data import annotations
from dic_tf.utils import image_files

_SHIFT = 4
_FIXED = 1 << _SHIFT
_AA = cv2.LINE_AA


class SyntheticFaces(NamedTuple):
    """Generated faces.

    Attributes:
        names: N image names (`synthetic_00000.png`, ...).
        images: uint8 `[N, size, size, 3]` RGB.
        info: the authors' info format, `{name: {"landmark": float64 [68, 2]
            (x, y) in pixels, "bbox": [xmin, ymin, xmax, ymax]}}`, with the
            bbox from `annotations.bbox_from_landmarks` (always inside the image).

    Example:
        faces = generate_faces(4, seed=0)
        faces.images.shape  # (4, 160, 160, 3)
    """

    names: list
    images: np.ndarray
    info: dict


def _template(rng):
    """68 landmarks and the forehead arc of a random frontal face, `[N, 3]` (x right, y down, z to camera)."""
    width = rng.uniform(0.85, 1.02)
    chin = rng.uniform(0.95, 1.15)
    square = rng.uniform(0.65, 1.0)
    centre_y = 0.15
    angles = np.pi * (-0.08 + 1.16 * np.linspace(0.0, 1.0, 17))
    cos, sin = np.cos(angles), np.sin(angles)
    jaw = np.stack(
        [
            -np.sign(cos) * np.abs(cos) ** square * width,
            centre_y + np.sign(sin) * np.abs(sin) ** square * chin,
            0.45 - 0.55 * np.abs(cos),
        ],
        axis=1,
    )

    brow_y, brow_arch = rng.uniform(-0.52, -0.42), rng.uniform(0.04, 0.1)
    t = np.linspace(0.0, 1.0, 5)
    brow_x = -0.8 * width + t * (0.62 * width)
    brow_left = np.stack(
        [brow_x, brow_y - brow_arch * np.sin(np.pi * (0.1 + 0.8 * t)) + 0.03 * (1 - t), 0.25 + 0.1 * t], axis=1
    )
    brow_right = brow_left[::-1] * np.array([-1.0, 1.0, 1.0])

    nose_top, nose_tip = -0.27, rng.uniform(0.12, 0.24)
    bridge = np.stack([np.zeros(4), np.linspace(nose_top, nose_tip, 4), np.linspace(0.3, 0.55, 4)], axis=1)
    half_nose = rng.uniform(0.16, 0.22)
    base_y = nose_tip + 0.1
    nose_base = np.array(
        [
            [-half_nose, base_y - 0.03, 0.3],
            [-half_nose / 2, base_y + 0.01, 0.37],
            [0.0, base_y + 0.03, 0.42],
            [half_nose / 2, base_y + 0.01, 0.37],
            [half_nose, base_y - 0.03, 0.3],
        ]
    )

    eye_x, eye_y = rng.uniform(0.36, 0.44) * width, rng.uniform(-0.24, -0.18)
    eye_w, eye_h = rng.uniform(0.14, 0.18), rng.uniform(0.045, 0.08)
    shape = np.array([[-1.0, 0.0], [-1 / 3, -1.0], [1 / 3, -1.0], [1.0, 0.0], [1 / 3, 0.9], [-1 / 3, 0.9]])
    eye = shape * np.array([eye_w, eye_h])
    eye_left = np.column_stack([eye[:, 0] - eye_x, eye[:, 1] + eye_y, np.full(6, 0.22)])
    eye_right = np.column_stack([-eye_left[[3, 2, 1, 0, 5, 4], 0], eye_left[[3, 2, 1, 0, 5, 4], 1], np.full(6, 0.22)])

    mouth_y, mouth_w = base_y + rng.uniform(0.2, 0.3), rng.uniform(0.24, 0.34)
    upper, lower, opening = rng.uniform(0.07, 0.11), rng.uniform(0.1, 0.15), rng.uniform(0.004, 0.07)
    outer_xy = np.array(
        [
            [-1.0, 0.0],
            [-0.6, -0.9],
            [-0.25, -1.1],
            [0.0, -0.9],
            [0.25, -1.1],
            [0.6, -0.9],
            [1.0, 0.0],
            [0.6, 0.75],
            [0.3, 0.95],
            [0.0, 1.0],
            [-0.3, 0.95],
            [-0.6, 0.75],
        ]
    ) * np.array([mouth_w, 1.0])
    outer_xy[:, 1] *= np.where(outer_xy[:, 1] < 0, upper, lower)
    inner_xy = np.array(
        [[-0.85, 0.0], [-0.35, -1.0], [0.0, -1.0], [0.35, -1.0], [0.85, 0.0], [0.35, 1.0], [0.0, 1.0], [-0.35, 1.0]]
    ) * np.array([mouth_w, opening])
    mouth_xy = np.concatenate([outer_xy, inner_xy]) + np.array([0.0, mouth_y])
    mouth = np.column_stack([mouth_xy, 0.35 - 0.4 * np.abs(mouth_xy[:, 0])])

    landmarks = np.concatenate([jaw, brow_left, brow_right, bridge, nose_base, eye_left, eye_right, mouth])
    b = np.linspace(0.0, np.pi, 15)[1:-1]
    top = jaw[16, 1]
    forehead = np.stack(
        [jaw[16, 0] * np.cos(b), top - rng.uniform(0.85, 1.0) * np.sin(b), 0.45 - 0.55 * np.abs(np.cos(b))], axis=1
    )
    return landmarks, forehead


def _rotation(yaw, pitch, roll):
    cy, sy, cp, sp, cr, sr = np.cos(yaw), np.sin(yaw), np.cos(pitch), np.sin(pitch), np.cos(roll), np.sin(roll)
    yaw_m = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    pitch_m = np.array([[1, 0, 0], [0, cp, -sp], [0, sp, cp]])
    roll_m = np.array([[cr, -sr, 0], [sr, cr, 0], [0, 0, 1]])
    return roll_m @ pitch_m @ yaw_m


def _fixed(points):
    return np.round(np.asarray(points) * _FIXED).astype(np.int32).reshape(-1, 1, 2)


def _mask(size, polygon):
    mask = np.zeros((size, size), np.uint8)
    cv2.fillPoly(mask, [_fixed(polygon)], 255, _AA, _SHIFT)
    return mask.astype(np.float32)[..., None] / 255.0


def _background(rng, size):
    base = rng.uniform(30, 220, size=3)
    cells = rng.uniform(-50, 50, size=(5, 5, 1)) + rng.uniform(-18, 18, size=(5, 5, 3))
    coarse = cv2.resize(cells.astype(np.float32), (size, size), interpolation=cv2.INTER_CUBIC)
    fine_cells = max(4, size // 8)
    fine = cv2.resize(
        rng.uniform(-15, 15, size=(fine_cells, fine_cells, 3)).astype(np.float32),
        (size, size),
        interpolation=cv2.INTER_LINEAR,
    )
    image = base + coarse + fine
    if rng.random() < 0.5:
        period, angle = rng.uniform(6, 20), rng.uniform(0, np.pi)
        yy, xx = np.mgrid[0:size, 0:size]
        stripes = np.sin((xx * np.cos(angle) + yy * np.sin(angle)) * 2 * np.pi / period)
        image += (rng.uniform(8, 25) * stripes)[..., None]
    return np.clip(image, 0, 255).astype(np.uint8)


def _draw_face(rng, size):
    """Renders one face; returns `(image uint8 [size, size, 3], landmarks float64 [68, 2])`."""
    template, forehead = _template(rng)
    rotation = _rotation(
        np.radians(rng.uniform(-30, 30)), np.radians(rng.uniform(-10, 10)), np.radians(rng.uniform(-15, 15))
    )
    posed = np.concatenate([template, forehead]) @ rotation.T
    unit = posed[:68, :2]
    extent = float((unit.max(axis=0) - unit.min(axis=0)).max())
    side = rng.uniform(0.6, 0.85) * size
    scale = side / (annotations.BBOX_MARGIN * extent)
    slack = (size - side) / 2 - 2
    centre = size / 2 + rng.uniform(-slack, slack, size=2)
    points = (posed[:, :2] - (unit.max(axis=0) + unit.min(axis=0)) / 2) * scale + centre
    landmarks, outline = points[:68], np.concatenate([points[:17], points[68:]])

    image = _background(rng, size)
    skin = np.array([235, 200, 175]) + rng.uniform(0, 1) * (np.array([95, 60, 45]) - np.array([235, 200, 175]))
    skin = np.clip(skin + rng.uniform(-12, 12, 3), 0, 255)
    hair = np.array([[25, 20, 18], [70, 45, 25], [120, 80, 40], [200, 170, 110], [90, 90, 90]])[
        rng.integers(5)
    ] + rng.uniform(-10, 10, 3)
    head_centre = outline.mean(axis=0)

    hair_polygon = head_centre + (points[68:] - head_centre) * rng.uniform(1.08, 1.2)
    cv2.fillPoly(image, [_fixed(np.concatenate([points[[16]], hair_polygon, points[[0]]]))], hair.tolist(), _AA, _SHIFT)
    neck_top = landmarks[[6, 10]]
    neck = np.array([neck_top[0], neck_top[1], [neck_top[1, 0], size + 5], [neck_top[0, 0], size + 5]])
    cv2.fillPoly(image, [_fixed(neck)], (skin * 0.75).tolist(), _AA, _SHIFT)

    face = _mask(size, outline)
    rim = cv2.GaussianBlur(face, (0, 0), sigmaX=0.12 * scale)[..., None]
    shade = 0.72 + 0.28 * np.clip(2.0 * rim - 1.0, 0.0, 1.0)
    image = (image * (1 - face) + skin * shade * face).astype(np.uint8)

    line = max(1, int(round(0.035 * scale)))
    for brow in (landmarks[17:22], landmarks[22:27]):
        cv2.polylines(image, [_fixed(brow)], False, (hair * 0.8).tolist(), 2 * line, _AA, _SHIFT)

    iris_colour = np.array([[70, 45, 25], [60, 100, 150], [70, 110, 70], [30, 25, 20]])[rng.integers(4)]
    for eye in (landmarks[36:42], landmarks[42:48]):
        mask = _mask(size, eye)
        layer = np.empty_like(image)
        layer[:] = (235, 232, 225)
        top, bottom = eye[1:3].mean(axis=0), eye[4:6].mean(axis=0)
        radius = 0.5 * np.linalg.norm(top - bottom)
        centre_eye = eye.mean(axis=0)
        cv2.circle(
            layer, tuple(_fixed(centre_eye).ravel()), int(radius * _FIXED), iris_colour.tolist(), -1, _AA, _SHIFT
        )
        cv2.circle(layer, tuple(_fixed(centre_eye).ravel()), int(radius * 0.45 * _FIXED), (10, 10, 10), -1, _AA, _SHIFT)
        image = (image * (1 - mask) + layer * mask).astype(np.uint8)
        cv2.polylines(image, [_fixed(eye)], True, (40, 30, 30), 1, _AA, _SHIFT)
        cv2.polylines(image, [_fixed(eye[:4])], False, (20, 15, 15), line + 1, _AA, _SHIFT)

    nose_dark = (skin * 0.6).tolist()
    cv2.polylines(
        image, [_fixed(landmarks[[28, 31]]), _fixed(landmarks[[28, 35]])], False, (skin * 0.85).tolist(), 1, _AA, _SHIFT
    )
    cv2.polylines(image, [_fixed(landmarks[27:31])], False, np.clip(skin * 1.12, 0, 255).tolist(), line, _AA, _SHIFT)
    cv2.polylines(image, [_fixed(landmarks[31:36])], False, nose_dark, line, _AA, _SHIFT)
    for nostril in (landmarks[32], landmarks[34]):
        cv2.circle(
            image, tuple(_fixed(nostril).ravel()), int(0.035 * scale * _FIXED), (skin * 0.4).tolist(), -1, _AA, _SHIFT
        )

    lips = np.clip(skin * np.array([0.95, 0.55, 0.55]) + np.array([30, 0, 0]), 0, 255)
    cv2.fillPoly(image, [_fixed(landmarks[48:60])], lips.tolist(), _AA, _SHIFT)
    cv2.fillPoly(image, [_fixed(landmarks[60:68])], (70, 20, 25), _AA, _SHIFT)
    cv2.polylines(image, [_fixed(landmarks[60:68])], True, (90, 30, 35), 1, _AA, _SHIFT)

    direction = rng.normal(size=2)
    direction /= np.linalg.norm(direction)
    yy, xx = np.mgrid[0:size, 0:size]
    gradient = 1.0 + rng.uniform(0.15, 0.45) * ((xx - size / 2) * direction[0] + (yy - size / 2) * direction[1]) / size
    lit = image * gradient[..., None] + rng.normal(0.0, 2.0, image.shape)
    return np.clip(np.round(lit), 0, 255).astype(np.uint8), landmarks


def generate_faces(n, seed, size=160):
    """Generates `n` synthetic faces.

    Args:
        n: number of faces.
        seed: integer seed; face `i` is drawn from `(seed, i)` only.
        size: image side in pixels.

    Returns:
        `SyntheticFaces` (names, uint8 `[n, size, size, 3]` images, info dict).

    Example:
        faces = generate_faces(8, seed=0)
    """
    names, images, info = [], np.zeros((n, size, size, 3), np.uint8), {}
    for i in range(n):
        images[i], landmarks = _draw_face(np.random.default_rng([seed, i]), size)
        name = f"synthetic_{i:05d}.png"
        names.append(name)
        info[name] = {"landmark": landmarks, "bbox": list(annotations.bbox_from_landmarks(landmarks))}
    return SyntheticFaces(names, images, info)


def write_faces(faces, output_dir):
    """Writes faces as PNGs plus `info.json` (the authors' format, see `annotations`).

    Args:
        faces: `SyntheticFaces`.
        output_dir: created if needed.

    Returns:
        Path of the written `info.json`.

    Example:
        write_faces(generate_faces(8, seed=0), "data/synthetic")
    """
    os.makedirs(output_dir, exist_ok=True)
    for name, image in zip(faces.names, faces.images):
        image_files.write_png(os.path.join(output_dir, name), image, overwrite=True)
    path = os.path.join(output_dir, "info.json")
    annotations.write_info_json(faces.info, path)
    return path
