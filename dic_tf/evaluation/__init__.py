"""Evaluation behind `evaluate.py`; import the module that holds a name.

* `folders`: folder mode, any method's outputs against the ground truth.
* `face_sets`: a model-mode test set (HR, LR, landmarks).
* `model_scoring`: every step, bicubic, NME and run time of a predictor
  (`dic_tf.inference.predictors`), scored by `dic_tf.metrics.scoring`.
* `landmark_detector`: the authors' landmark-detection evaluation.
* `saliency_overlays`: saliency maps written as overlays.
* `model_mode`: model mode end to end (report and `results.json`).
* `protocol`, `results_file`, `tables`: what both modes share (their images
  are read and written by `dic_tf.utils.image_files`).
"""

