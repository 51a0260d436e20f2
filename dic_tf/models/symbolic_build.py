"""A model's weights created by one symbolic pass of its `call`: the `build` of dic_tf's models.

Keras builds a model without a `build` method by tracing `call` on symbolic
inputs, so `model(keras.KerasTensor(shape))` traced DIC twice: once to create
the weights (`Layer._maybe_build`) and once for the symbolic outputs. With
`SymbolicBuild`, `model.build(shape)` traces it once (the x8 DIC builds in
about three quarters of the time, docs/performance_log.md), and `.keras`
loading (`build_from_config`) goes through the same `build`. No backend op
runs: on JAX nothing is compiled.
"""

import keras


class SymbolicBuild:
    """Mixin for a `keras.Model` whose `call` takes one input: `build(input_shape)` traces it once.

    Weights are created in the order `call` first uses them, as by Keras'
    default build, so a seeded model has the same weights either way.

    Example:
        class Net(SymbolicBuild, keras.Model):
            ...
        net = Net()
        net.build((1, 16, 16, 3))  # weights created, no op run
    """

    def build(self, input_shape):
        # The input in the dtype `__call__` casts to (bfloat16 under a mixed policy), as Keras' own
        # build-by-run sees it.
        self.compute_output_spec(keras.KerasTensor(tuple(input_shape), dtype=self.input_dtype))
