"""Channel by channel on a copy; statistics accumulated batch by batch, as over a DataLoader."""
import torch


def normalize(t, mean, std):
    out = t.clone()
    for c in range(out.shape[0]):
        out[c].sub_(mean[c]).div_(std[c])
    return out


def channel_stats(images, batch_size=4):
    channels = images.shape[1]
    total = torch.zeros(channels, dtype=torch.float64)
    squares = torch.zeros(channels, dtype=torch.float64)
    count = 0
    for batch in images.split(batch_size):
        pixels = batch.double().transpose(0, 1).reshape(channels, -1)
        total += pixels.sum(dim=1)
        squares += (pixels ** 2).sum(dim=1)
        count += pixels.shape[1]
    mean = total / count
    std = (squares / count - mean ** 2).sqrt()
    return [m.item() for m in mean], [s.item() for s in std]
