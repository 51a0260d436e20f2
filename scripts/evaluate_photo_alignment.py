r"""Scores DIC on faces found and aligned in photos by `dic_tf.photos`, against bicubic.

    python scripts/evaluate_photo_alignment.py --checkpoint=runs/real_faces \
        --images_dir=../shared/faces/images --annotations=../shared/faces/info.json --last=100

For each of the last `--last` annotated photos (sorted by name): MTCNN finds
the faces (the one nearest the annotation box is kept), `dic_tf.photos`
aligns it; the reference is the aligned HR crop of the photo
(`alignment.align_face`, 128x128), the LR is its official Pillow bicubic
downsample, SR is the model's, bicubic is the LR upsampled with Pillow
bicubic. PSNR/SSIM on Y follow the official protocol (`dic_tf.metrics`:
border 8, official SSIM). For comparison the same model and baseline are
scored on the official crops of the same photos (annotation box, the
official preparation), and the geometry of the two crops is compared: the
side ratio (ours / official), the distance between their centres and the
mean distance of the annotated 68 landmarks in the two crops (both in HR
pixels). Prints one JSON object; writes nothing.
"""

import json
import os
import sys

import numpy as np
from absl import app, flags

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from dic_tf import inference, metrics  # noqa: E402
from dic_tf.data import annotations, preparation  # noqa: E402
from dic_tf.photos import alignment, detection, photo  # noqa: E402
from dic_tf.utils import image_files, resize  # noqa: E402

flags.DEFINE_string("checkpoint", None, "Training checkpoint (or train directory) of a DIC model.", required=True)
flags.DEFINE_string("images_dir", None, "Folder of the annotated photos.", required=True)
flags.DEFINE_string("annotations", None, "Info JSON/pickle of the photos (authors' format).", required=True)
flags.DEFINE_integer("last", 100, "Score the last N photos by sorted name.", lower_bound=1)
FLAGS = flags.FLAGS


def _scores(sr, hr, border):
    return metrics.psnr_y(sr, hr, border), metrics.ssim_y(sr, hr, border)


def main(argv):
    del argv
    model, _ = inference.load_dic(checkpoint=FLAGS.checkpoint)
    predictor = inference.KerasPredictor(model)
    faces, problems = annotations.read_annotations(FLAGS.annotations)
    if problems:
        raise app.UsageError(f"{FLAGS.annotations}: {problems[0]}")
    faces = sorted(faces, key=lambda face: face.name)[-FLAGS.last:]
    detector = detection.FaceDetector()
    rows = {"aligned": {"sr": [], "bicubic": []}, "official": {"sr": [], "bicubic": []}}
    missed, geometry = [], {"side_ratio": [], "centre_offset": [], "landmark_offset": []}
    for face in faces:
        image = image_files.read_rgb(os.path.join(FLAGS.images_dir, face.name))
        official_hr, _ = preparation.crop_and_resize(image, face.landmarks, face.bbox)
        found = detector(image)
        if not found:
            missed.append(face.name)
            continue
        centre = (np.asarray(face.bbox[:2]) + face.bbox[2:]) / 2
        nearest = min(found, key=lambda f: np.linalg.norm((f.box[:2] + f.box[2:]) / 2 - centre))
        transform = photo.face_transform(nearest)
        hr_size = photo.HR_SIZE
        aligned_hr = alignment.align_face(image, transform, hr_size)
        lr = preparation.make_lr(aligned_hr, hr_size // predictor.lr_size)
        side = face.bbox[2] - face.bbox[0]
        geometry["side_ratio"].append(alignment.crop_side(transform, hr_size) / side)
        ours_centre = alignment.apply(alignment.invert(transform), [(hr_size - 1) / 2] * 2)
        geometry["centre_offset"].append(np.linalg.norm(ours_centre - centre) * hr_size / side)
        official_points = (face.landmarks - face.bbox[:2]) * hr_size / side
        ours_points = alignment.apply(transform, face.landmarks)
        geometry["landmark_offset"].append(np.linalg.norm(ours_points - official_points, axis=1).mean())
        official_lr = preparation.make_lr(official_hr, predictor.scale)
        pairs = (("aligned", aligned_hr, lr), ("official", official_hr, official_lr))
        for kind, hr, lr_face in pairs:
            sr, _ = photo.run_model(predictor, lr_face[None])
            rows[kind]["sr"].append(_scores(sr[0], hr, predictor.scale))
            rows[kind]["bicubic"].append(_scores(resize.resize_bicubic(lr_face, hr.shape[0]), hr, predictor.scale))
    result = {"photos": len(faces), "faces_found": len(faces) - len(missed), "missed": missed}
    result["geometry"] = {
        name: {"mean": float(np.mean(values)), "std": float(np.std(values)), "median": float(np.median(values))}
        for name, values in geometry.items()
    }
    for kind, methods in rows.items():
        result[kind] = {
            method: {"psnr": float(np.mean([r[0] for r in values])), "ssim": float(np.mean([r[1] for r in values]))}
            for method, values in methods.items()
        }
        wins = np.mean([s[0] > b[0] for s, b in zip(methods["sr"], methods["bicubic"])])
        result[kind]["sr_psnr_above_bicubic"] = float(wins)
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    app.run(main)
