"""Exports DIC for TF Serving, TFLite and Keras: see `dic_tf/cli/export.py` (also `dic-tf-export`)."""

from dic_tf.cli.export import main

if __name__ == "__main__":
    main()
