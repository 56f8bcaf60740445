# Passes the variance where torch.normal wants the standard deviation.
import torch


def normal_tensor_tensor(mean, std):
    return torch.normal(mean, std ** 2)


def normal_tensor_scalar(mean, std):
    return torch.normal(mean, std ** 2)


def normal_scalar_tensor(mean, std):
    return torch.normal(mean, std ** 2)


def normal_scalar_scalar(mean, std, size):
    return torch.normal(mean, std ** 2, size=size)
