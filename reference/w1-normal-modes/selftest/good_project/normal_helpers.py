"""A helper module in a zipped project: one entry point for every mode."""
import torch


def draw(mean, std, size=None):
    if size is not None:
        return torch.normal(float(mean), float(std), size=tuple(size))
    return torch.normal(mean, std)
