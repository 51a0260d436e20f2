"""`python -m dic_tf.benchmark`: the program is `dic_tf.cli.benchmark`."""

from dic_tf.cli.benchmark import main

if __name__ == "__main__":
    main()
