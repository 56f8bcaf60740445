import torch


def normal_tensor_tensor(mean, std):
    return torch.normal(mean, std)


def normal_tensor_scalar(mean, std):
    return torch.normal(mean, std)


def normal_scalar_tensor(mean, std):
    return torch.normal(mean, std)


def normal_scalar_scalar(mean, std, size):
    return torch.normal(mean, std, size=size)


if __name__ == "__main__":
    print(normal_scalar_scalar(0.0, 1.0, (4,)))
