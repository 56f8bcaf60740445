# Seeds inside every function, so every call returns the same samples.
import torch


def normal_tensor_tensor(mean, std):
    torch.manual_seed(1)
    return torch.normal(mean, std)


def normal_tensor_scalar(mean, std):
    torch.manual_seed(1)
    return torch.normal(mean, std)


def normal_scalar_tensor(mean, std):
    torch.manual_seed(1)
    return torch.normal(mean, std)


def normal_scalar_scalar(mean, std, size):
    torch.manual_seed(1)
    return torch.normal(mean, std, size=size)
