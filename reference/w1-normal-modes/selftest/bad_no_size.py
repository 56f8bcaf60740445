# The fourth mode forgets size: torch.normal(0., 1.) raises TypeError on torch 2.x.
import torch


def normal_tensor_tensor(mean, std):
    return torch.normal(mean, std)


def normal_tensor_scalar(mean, std):
    return torch.normal(mean, std)


def normal_scalar_tensor(mean, std):
    return torch.normal(mean, std)


def normal_scalar_scalar(mean, std, size):
    return torch.normal(mean, std)
