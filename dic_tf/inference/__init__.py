"""Inference: the compiled forward pass, model loading and the predictors."""
