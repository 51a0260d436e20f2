"""Model mode end to end: SR images, saliency, the HTML report and `results.json`.

`results.json` holds `dic_tf.evaluation.model_scoring.evaluate_model`'s
entries plus "model", the input folders, "report" and, with saliency targets,
"saliency": {target label: {hr file name: overlay file}}. Given the LR source
(`dic_tf.evaluation.protocol.lr_source`), the protocol's "lr" describes it
and "lr_source" records it (degradation name, seed, parameters, saved folder).
"""

import os

from dic_tf import metrics
from dic_tf.evaluation.face_sets import save_lr_faces
from dic_tf.evaluation.model_scoring import evaluate_model
from dic_tf.evaluation.protocol import with_lr_source
from dic_tf.evaluation.results_file import write_results
from dic_tf.evaluation.saliency_overlays import write_saliency
from dic_tf.evaluation.tables import print_model_summary, summary_tables
from dic_tf.report import page

REPORT_DIR = "report"


def run_model_mode(predictor, test_set, output_dir, model_info, keras_model=None,
                   report_dir=None, scale=8, ssim_variant="official",
                   batch_size=metrics.SCORING_BATCH_SIZE,
                   detector=None, saliency_targets=(), num_shown=8, progress=True,
                   sources=None, lr_source=None, save_lr_dir=None):
    """Evaluates a model, writes SR images, saliency, the report and `results.json`.

    Args:
        predictor: see `evaluate_model`.
        test_set: list of `TestImage`.
        output_dir: output folder.
        model_info: description of the model stored under "model".
        keras_model: the Keras DIC, needed for saliency.
        report_dir: report folder (default `<output_dir>/report`).
        scale, ssim_variant, batch_size, detector, progress: see `evaluate_model`.
        saliency_targets: `dic_tf.evaluation.saliency.Target`s.
        num_shown: strips in each of the report's best/worst sections.
        sources: extra keys stored in `results.json` (e.g. input folders).
        lr_source: optional `dic_tf.evaluation.protocol.lr_source` of the
            test set's LR, recorded in the protocol (report and `results.json`).
        save_lr_dir: optional new or empty folder receiving the scored LR
            faces as `<HR stem>.png` (`save_lr_faces`), before the report.

    Returns:
        The results dictionary.

    Example:
        run_model_mode(KerasPredictor(model), test_set, "runs/eval_dic", {"kind": "keras"})
    """
    if saliency_targets and keras_model is None:
        raise ValueError(
            "Saliency needs the Keras model (--checkpoint or --pytorch_checkpoint); a "
            "SavedModel only exposes its serving signature."
        )
    report_dir = report_dir or os.path.join(output_dir, REPORT_DIR)
    check_report_dir(report_dir, output_dir)
    results, records = evaluate_model(
        predictor, test_set, output_dir, scale=scale, ssim_variant=ssim_variant,
        batch_size=batch_size, detector=detector, progress=progress,
    )
    if lr_source:
        results["protocol"] = with_lr_source(results["protocol"], lr_source, scale)
    if save_lr_dir:
        save_lr_faces(test_set, save_lr_dir)
    results["model"] = model_info
    results.update(sources or {})
    if saliency_targets:
        results["saliency"] = write_saliency(
            keras_model, test_set, records, saliency_targets, output_dir, batch_size
        )
    report_path = page.write_report(
        records, report_dir,
        title=f"DIC evaluation: {os.path.basename(str(model_info.get('path', '')))}",
        num_shown=num_shown, protocol=results["protocol"],
        summary_tables=summary_tables(results),
    )
    results["report"] = os.path.abspath(report_path)
    path = write_results(results, output_dir)
    print_model_summary(results, path)
    return results


def check_report_dir(report_dir, output_dir):
    """Refuses a report folder that would replace the outputs or a folder the user made.

    The report folder is replaced as a whole, so it may not be `output_dir`
    or a folder above it, and must be new, empty or an earlier report.

    Example:
        check_report_dir("runs/eval/report", "runs/eval")  # passes; ("runs", "runs/eval") raises
    """
    report_path, output_path = os.path.realpath(report_dir), os.path.realpath(output_dir)
    if os.path.commonpath([report_path, output_path]) == report_path:
        raise ValueError(
            f"--report_dir={report_dir} would replace --output_dir={output_dir} (it is the "
            "same folder or above it); give a report folder of its own."
        )
    page.check_report_dir(report_dir)
