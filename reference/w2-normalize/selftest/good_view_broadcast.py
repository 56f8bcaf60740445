import torch


def normalize(t, mean, std):
    mean = torch.tensor(mean, dtype=t.dtype).view(-1, 1, 1)
    std = torch.tensor(std, dtype=t.dtype).view(-1, 1, 1)
    return (t - mean) / std


def channel_stats(images):
    means = images.mean(dim=(0, 2, 3))
    stds = images.std(dim=(0, 2, 3))
    return means.tolist(), stds.tolist()
