import numpy as np
import torch


def to_tensor(arr):
    return torch.from_numpy(arr)


def data_addresses(arr, t):
    return arr.__array_interface__["data"][0], t.data_ptr()


if __name__ == "__main__":
    arr = np.array([[1, 2, 3], [4, 5, 6]])
    t = to_tensor(arr)
    t[0, 0] = -1
    print(arr, data_addresses(arr, t))
