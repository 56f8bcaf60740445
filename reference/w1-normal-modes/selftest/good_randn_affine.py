# Reparameterisation: mean + std * standard normal noise, broadcasting by hand.
import torch


def normal_tensor_tensor(mean, std):
    mean, std = torch.broadcast_tensors(mean, std)
    return mean + std * torch.randn_like(mean)


def normal_tensor_scalar(mean, std):
    return mean + std * torch.randn(mean.shape, dtype=mean.dtype)


def normal_scalar_tensor(mean, std):
    return mean + std * torch.randn_like(std)


def normal_scalar_scalar(mean, std, size):
    noise = torch.empty(size).normal_()
    return noise * std + mean
