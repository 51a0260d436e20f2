"""Evaluates face super-resolution: see `dic_tf/cli/evaluate.py` (also `dic-tf-evaluate`)."""

from dic_tf.cli.evaluate import main

if __name__ == "__main__":
    main()
