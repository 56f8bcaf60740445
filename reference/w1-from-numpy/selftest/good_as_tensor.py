# torch.as_tensor shares memory too; addresses through ctypes and the tensor's storage.
import torch


def to_tensor(arr):
    return torch.as_tensor(arr)


def data_addresses(arr, t):
    array_address = arr.ctypes.data
    tensor_address = t.untyped_storage().data_ptr() + t.storage_offset() * t.element_size()
    return (array_address, tensor_address)
