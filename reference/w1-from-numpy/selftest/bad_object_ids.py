# The most common answer: Python object ids instead of data addresses.
import torch


def to_tensor(arr):
    return torch.from_numpy(arr)


def data_addresses(arr, t):
    return id(arr), id(t)
