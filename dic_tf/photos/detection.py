"""Face detection with MTCNN (the optional extra `photos`: `pip install ".[photos]"`).

MTCNN 1.0 (MIT licence) is written in TensorFlow and ships its weights in its
wheel, so nothing is downloaded at run time; it runs with TensorFlow 2.21 and
Keras 3 on the TensorFlow backend (not on JAX: it calls `.numpy()` on its
Keras outputs). Each face comes with 5 landmarks
in the order of `dic_tf.photos.template.POINT_NAMES` (MTCNN's "left_eye" is
the eye on the image's left). Small faces are found by running MTCNN on a
small photo upsampled `upsample` times (bicubic) with `min_face_size` in
upsampled pixels; with the defaults (2, 12) face boxes down to about 6 photo
pixels are proposed, and faces are kept from a final-stage confidence of 0.7
(MTCNN's default is 0.8; at 0.8 the tests' 16-20 px faces are lost in
grayscale or JPEG copies, and 0.7 still finds nothing on their backgrounds).
The upsampling is skipped for photos whose upsampled copy would exceed
`max_detection_pixels` (1 MP: photos above 0.26 MP, e.g. 600 x 600, are
searched at their own size, for face boxes from 12 px): it bounds the
detector's memory and time (a 1 MP photo took 3.6 s upsampled x2 and 1.15 s
at its own size on the 2-core CPU, shared).
"""

from typing import NamedTuple

import numpy as np

from dic_tf.utils import backend
from dic_tf.utils.resize import upscale_bicubic

INSTALL_HINT = 'pip install ".[photos]" in the dic_tf checkout (the extra `photos`: mtcnn)'
MAX_DETECTION_PIXELS = 2**20


class DetectorUnavailableError(ImportError):
    """MTCNN cannot run here (not installed, or Keras not on TensorFlow); the message says what to do.

    An `ImportError`, so `predict.py --photos` reports it in one line like any missing package.

    Example:
        try:
            faces = detector(photo)
        except DetectorUnavailableError as error:
            print(error)  # how to install MTCNN
    """


class Face(NamedTuple):
    """One detected face.

    Attributes:
        box: float64 `[4]` `(xmin, ymin, xmax, ymax)` in photo pixels.
        points: float64 `[5, 2]` `(x, y)` in photo pixels (`POINT_NAMES` order).
        confidence: float in [0, 1].

    Example:
        face = detector(photo)[0]
        face.points.shape  # (5, 2)
    """

    box: np.ndarray
    points: np.ndarray
    confidence: float


class FaceDetector:
    """MTCNN with settings for small faces.

    Args:
        upsample: integer factor the photo is upsampled by before detection.
        min_face_size: smallest face box MTCNN looks for, in upsampled pixels.
        min_confidence: MTCNN's final-stage (ONet) threshold.
        max_detection_pixels: no upsampling when the upsampled photo would be larger.

    Example:
        >>> detector = FaceDetector()                     # doctest: +SKIP
        >>> [face.box for face in detector(photo)]        # doctest: +SKIP
        [array([56.1, 23.9, 69.4, 40.1])]
    """

    def __init__(self, upsample=2, min_face_size=12, min_confidence=0.7, max_detection_pixels=MAX_DETECTION_PIXELS):
        try:
            from mtcnn import MTCNN
        except ImportError as error:
            raise DetectorUnavailableError(f"Detecting faces in photos needs mtcnn: {INSTALL_HINT}.") from error

        try:  # mtcnn's networks are Keras models whose outputs it reads with `.numpy()`.
            backend.require("mtcnn")
        except ValueError as error:
            raise DetectorUnavailableError(str(error)) from error
        self._mtcnn = MTCNN()
        self.upsample = upsample
        self.min_face_size = min_face_size
        self.min_confidence = min_confidence
        self.max_detection_pixels = max_detection_pixels

    def __call__(self, photo):
        """uint8 `[H, W, 3]` RGB -> list of `Face`, most confident first."""
        height, width = photo.shape[:2]
        factor = self.upsample if height * width * self.upsample**2 <= self.max_detection_pixels else 1
        image = photo
        if factor > 1:
            image = upscale_bicubic(photo, factor)
        rows = self._mtcnn.detect_faces(
            image, box_format="xyxy", output_type="numpy", min_face_size=self.min_face_size,
            threshold_onet=self.min_confidence,
        )
        faces = []
        for row in np.asarray(rows, np.float64).reshape(-1, 16):
            # MTCNN rows: image index, xmin, ymin, xmax, ymax, confidence, 5 x, 5 y
            # (left eye, right eye, nose, mouth left, mouth right).
            box = _to_photo(row[1:5].reshape(2, 2), factor).ravel()
            points = _to_photo(row[6:16].reshape(2, 5).T, factor)
            faces.append(Face(box, points, float(row[5])))
        return sorted(faces, key=lambda face: -face.confidence)


def _to_photo(points, factor):
    """Upsampled pixel-centre coordinates -> photo pixel-centre coordinates."""
    return (points + 0.5) / factor - 0.5
