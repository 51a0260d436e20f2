"""The command-line entry points: train, evaluate, export, predict, prepare_data, benchmark.

Each module defines its flags and a `main()` (the console scripts
`dic-tf-<name>` of pyproject.toml; the top-level `<name>.py` scripts call the
same `main()`). `dic_tf.cli.runner` gives them the same behaviour: bad input
is one line on stderr and a non-zero exit, and TensorFlow's start-up lines
are hidden unless `DIC_TF_TF_LOGS=1`.
"""
