import torch


def normalize(t, mean, std):
    mean = torch.tensor(mean, dtype=t.dtype).view(-1, 1, 1)
    std = torch.tensor(std, dtype=t.dtype).view(-1, 1, 1)
    return (t - mean) / std


def channel_stats(images):
    return images.mean(dim=(0, 2, 3)).tolist(), images.var(dim=(0, 2, 3)).tolist()
