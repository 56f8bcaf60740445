# torch.Tensor(arr) makes float32: shares memory for float32 arrays only, copies the others.
import torch


def to_tensor(arr):
    return torch.Tensor(arr)


def data_addresses(arr, t):
    return arr.__array_interface__["data"][0], t.data_ptr()
