"""Evaluation behind `evaluate.py`; import the module that holds a name.

* `folders`: folder mode, any method's outputs against the ground truth.
* `face_sets`: a model-mode test set (HR, LR, landmarks).
* `predictors`: a Keras DIC or an exported SavedModel on uint8 LR batches.
* `model_scoring`: every step, bicubic, NME and run time of a predictor.
* `landmark_detector`: the authors' landmark-detection evaluation.
* `saliency_overlays`: saliency maps written as overlays.
* `model_mode`: model mode end to end (report and `results.json`).
* `protocol`, `image_files`, `results_file`, `tables`: what both modes share.
"""


def __getattr__(name):
    # Temporary (issue 13): tests/test_hg_pretrain.py still reads these three names
    # from the package; delete this function once it imports the modules above.
    if name in ("detect_landmarks", "load_landmark_detector"):
        from dic_tf.evaluation import landmark_detector

        return getattr(landmark_detector, name)
    if name == "normalize_rgb":
        from dic_tf.image_space import pixels_to_model_space

        return pixels_to_model_space
    raise AttributeError(f"module 'dic_tf.evaluation' has no attribute {name!r}")
