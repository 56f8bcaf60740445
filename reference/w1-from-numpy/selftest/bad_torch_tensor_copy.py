# torch.tensor copies the data: dtype and shape are right, but the memory is not shared.
import torch


def to_tensor(arr):
    return torch.tensor(arr)


def data_addresses(arr, t):
    return arr.__array_interface__["data"][0], t.data_ptr()
