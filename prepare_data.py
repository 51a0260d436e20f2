"""Prepares annotated faces into TFRecords: see `dic_tf/cli/prepare_data.py` (also `dic-tf-prepare-data`)."""

from dic_tf.cli.prepare_data import main

if __name__ == "__main__":
    main()
