"""`python -m dic_tf.benchmark`: see `dic_tf.benchmark.measure`."""

from dic_tf.benchmark.measure import main

if __name__ == "__main__":
    main()
