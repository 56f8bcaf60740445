# Draws with numpy: right distribution, but float64 and not reproducible with torch.manual_seed.
import numpy as np
import torch


def normal_tensor_tensor(mean, std):
    return torch.from_numpy(np.random.normal(mean.numpy(), std.numpy()))


def normal_tensor_scalar(mean, std):
    return torch.from_numpy(np.random.normal(mean.numpy(), std))


def normal_scalar_tensor(mean, std):
    return torch.from_numpy(np.random.normal(mean, std.numpy()))


def normal_scalar_scalar(mean, std, size):
    return torch.from_numpy(np.random.normal(mean, std, size))
