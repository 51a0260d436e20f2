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

