# from_numpy followed by .float(): a copy for every array that is not already float32.
import torch


def to_tensor(arr):
    return torch.from_numpy(arr).float()


def data_addresses(arr, t):
    return arr.ctypes.data, t.data_ptr()
