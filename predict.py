"""Super-resolves face crops with DIC: see `dic_tf/cli/predict.py` (also `dic-tf-predict`)."""

from dic_tf.cli.predict import main

if __name__ == "__main__":
    main()
