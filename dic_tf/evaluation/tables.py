"""The console summaries of both modes and the report's extra tables."""

from dic_tf.evaluation.protocol import DETECTION_SOURCES, SSIM_NOTES


def print_folder_summary(results, path, hr_dir):
    """Prints folder mode's averages, the SSIM variant and where `results.json` went.

    `hr_dir` is the ground-truth folder as the user gave it.

    Example:
        >>> print_folder_summary(evaluate_folders(sr_dir, hr_dir), "out/results.json", hr_dir)  # doctest: +SKIP
        3 images | PSNR (Y, border 8): 27.1234 dB | SSIM (official): 0.801234
    """
    average = results["average"]
    scale, ssim_variant = results["protocol"]["border"], results["protocol"]["ssim"]
    psnr = "inf" if average["psnr"] is None else f"{average['psnr']:.4f}"
    print(
        f"{results['num_images']} images | PSNR (Y, border {scale}): {psnr} dB | "
        f"SSIM ({ssim_variant}): {average['ssim']:.6f}"
    )
    print(f"SSIM variant: {ssim_variant}. {SSIM_NOTES[ssim_variant]}")
    if results["unmatched_hr_files"]:
        print(
            f"Note: {len(results['unmatched_hr_files'])} ground-truth images in {hr_dir!r} "
            "have no SR counterpart and were not evaluated."
        )
    print(f"Wrote {path}")


def summary_tables(results):
    """The report's extra tables of a model-mode `results` dict: detection errors, run time.

    Returns:
        {table title: {row label: {column: value}}} for `dic_tf.report.page.write_report`.

    Example:
        >>> sorted(summary_tables(results))  # doctest: +SKIP
        ['Run time (batch size 16)']
    """
    tables = {}
    detection = results["average"].get("landmark_detection")
    if detection:
        title = (f"Landmark detection on {detection['num_images']} annotated faces "
                 "(RMSE / normaliser)")
        tables[title] = {source: detection[source] for source in DETECTION_SOURCES}
    timing = results["timing"]
    tables[f"Run time (batch size {timing['batch_size']})"] = {
        "model": {
            "seconds / image": timing["seconds_per_image"],
            "after first batch": timing["seconds_per_image_after_first_batch"],
        }
    }
    return tables


def print_model_summary(results, path):
    """Prints model mode's per-step averages, detection errors and run time.

    Example:
        >>> print_model_summary(results, "out/results.json")  # doctest: +SKIP
        3 images, 4 steps (PSNR/SSIM on Y, border 8, SSIM official)
        LR: degradation 'real', seed 3 (parameters in results.json protocol.lr_source)
    """
    average = results["average"]

    def line(label, row):
        psnr = "inf" if row["psnr"] is None else f"{row['psnr']:.4f}"
        nme = f" | NME {row['nme']:.4f}" if "nme" in row else ""
        return f"{label:>8}: PSNR {psnr} dB | SSIM {row['ssim']:.6f}{nme}"

    print(f"{results['num_images']} images, {results['num_steps']} steps "
          f"(PSNR/SSIM on Y, border {results['protocol']['border']}, "
          f"SSIM {results['protocol']['ssim']})")
    print(f"LR: {_lr_summary(results['protocol'])}")
    print(line("bicubic", average["bicubic"]))
    for t, step in enumerate(average["steps"]):
        print(line(f"step {t + 1}", step))
    detection = average.get("landmark_detection")
    if detection:
        for source in DETECTION_SOURCES:
            errors = ", ".join(f"{k} {v:.4f}" for k, v in detection[source].items())
            print(f"landmark detection on {source}: {errors}")
    print(f"model time: {results['timing']['seconds_per_image']:.4f} s/image")
    print(f"Wrote {path} and {results['report']}")


def _lr_summary(protocol):
    """The model-mode protocol's LR source in a few words."""
    source = protocol.get("lr_source")
    if source is None:
        return protocol["lr"]
    if source["kind"] == "lr_dir":
        text = f"read from --lr_dir={source['lr_dir']}"
    elif source["kind"] == "bicubic":
        text = "official bicubic preparation of the HR"
    else:
        text = (f"degradation {source['degradation']!r}, seed {source['seed']} "
                "(parameters in results.json protocol.lr_source)")
    if "saved_lr_dir" in source:
        text += f"; the LR faces scored are saved in {source['saved_lr_dir']}"
    return text
