# Answers the question "do they share memory?" instead of returning the two addresses.
import torch


def to_tensor(arr):
    return torch.from_numpy(arr)


def data_addresses(arr, t):
    return arr.__array_interface__["data"][0] == t.data_ptr()
