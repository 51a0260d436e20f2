"""A self-contained HTML report of a DIC evaluation; import the module that holds a name.

* `records`: `ImageRecord`, everything shown about one test image.
* `strips`: one image's comparison strip (LR nearest-upscaled, bicubic, SR at
  each step with its landmarks, HR; one row per facial component with that
  step's attention over its SR; one row per saliency target over the LR).
* `psnr_plot`: the mean PSNR after each step.
* `drawing`: font, number formats and heat colours shared by the two.
* `page`: `write_report`, the folder with `index.html`, and `check_report_dir`.
"""

