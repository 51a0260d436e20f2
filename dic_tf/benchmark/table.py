"""The benchmark's markdown table: one line per measured row, under a title naming the setup.

Example:
    print(format_table(report))   # report: `dic_tf.benchmark.rows.run(options)`
"""

TABLE_HEADER = (
    "| kind | batch | remat | median ms | min ms | images/s | first call s | peak memory MiB "
    "| kernel share | minor faults/call | load |\n"
    "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|"
)


def format_row(row):
    """One table line of a row of the report (its error, when it failed)."""
    kind = row["kind"]
    if kind == "data":
        kind = f"data ({row.get('degradation', row['remat'])})"
    elif kind == "photos" and "parts" in row:
        parts = ", ".join(f"{key[:-2]} {seconds:.2f}" for key, seconds in row["parts"].items())
        kind = f"photos x{row['upscale']} {row['size'][0]}x{row['size'][1]} ({parts} s)"
    if "error" in row:
        return f"| {kind} | {row['batch_size']} | {row['remat']} | {row['error']} | | | | | | | |"
    return (
        f"| {kind} | {row['batch_size']} | {row['remat']} | {1e3 * row['median_s']:.1f} | "
        f"{1e3 * row['min_s']:.1f} | {row['images_per_s']:.2f} | {row['first_call_s']:.1f} | "
        f"{row['peak_memory_bytes'] / 2**20:.0f} | {100 * row['kernel_share']:.1f}% | "
        f"{row['minor_faults_per_call']:.0f} | {row['load_average']:.2f} |"
    )


def format_table(report):
    """The title line, the header and every row of `report`."""
    memory = "device peak" if report["gpu"] else "process RSS peak"
    title = (
        f"DIC {report['config']} on {report['backend']} ({report['device']}), {report['precision']}, "
        f"jit={report['jit']}, deconv={report['deconv']}, {report['repeats']} repeats, "
        f"memory = {memory}, malloc {report['malloc']}"
    )
    return "\n".join([title, "", TABLE_HEADER] + [format_row(r) for r in report["rows"]])
