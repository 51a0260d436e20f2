"""A self-contained HTML report of a DIC evaluation; import the module that holds a name.

* `records`: `ImageRecord`, everything shown about one test image.
* `strips`: one image's comparison strip (LR nearest-upscaled, bicubic, SR at
  each step with its landmarks, HR; one row per facial component with that
  step's attention over its SR; one row per saliency target over the LR).
* `psnr_plot`: the mean PSNR after each step.
* `drawing`: font, number formats and heat colours shared by the two.
* `page`: `write_report`, the folder with `index.html`, and `check_report_dir`.
"""


def __getattr__(name):
    # Temporary (issue 13): dic_tf/training/validation.py and summaries.py still read
    # these names from the package; delete this function once they import the modules.
    if name == "ImageRecord":
        from dic_tf.report.records import ImageRecord

        return ImageRecord
    if name == "render_strip":
        from dic_tf.report.strips import render_strip

        return render_strip
    raise AttributeError(f"module 'dic_tf.report' has no attribute {name!r}")
