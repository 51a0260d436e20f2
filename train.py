"""Trains DIC, DICGAN or a landmark network: see `dic_tf/cli/train.py` (also `dic-tf-train`)."""

from dic_tf.cli.train import main

if __name__ == "__main__":
    main()
