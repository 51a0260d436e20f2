"""The authors' MultiStepLR learning-rate schedule, as a pure function of the step."""


def multistep_learning_rate(step, base, milestones, gamma):
    """`base * gamma ** (number of milestones <= step)` (PyTorch MultiStepLR).

    Args:
        step: optimizer steps taken so far.
        base: initial learning rate.
        milestones: increasing steps at which the rate is multiplied by gamma.
        gamma: decay factor.
    """
    return base * gamma ** sum(1 for m in milestones if step >= m)
