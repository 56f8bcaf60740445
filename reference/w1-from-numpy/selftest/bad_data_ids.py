# Ids of the .data attributes, as the course's reshape demo prints id(t.data).
import torch


def to_tensor(arr):
    return torch.from_numpy(arr)


def data_addresses(arr, t):
    return id(arr.data), id(t.data)
