import torch

def normal_tensor_tensor(mean, std)
    return torch.normal(mean, std)
