# Statistics over a DataLoader: the means weighted by the batch sizes, but the std of each batch
# averaged over the batches.
import torch
from torch.utils.data import DataLoader


def normalize(t, mean, std):
    mean = torch.as_tensor(mean, dtype=t.dtype)[:, None, None]
    std = torch.as_tensor(std, dtype=t.dtype)[:, None, None]
    return (t - mean) / std


def channel_stats(images, batch_size=20):
    loader = DataLoader(images, batch_size=batch_size, shuffle=False)
    total = torch.zeros(images.shape[1], dtype=torch.float64)
    std = torch.zeros(images.shape[1], dtype=torch.float64)
    count, batches = 0, 0
    for batch in loader:
        batch = batch.double()
        total += batch.sum(dim=(0, 2, 3))
        count += batch.numel() // batch.shape[1]
        std += batch.std(dim=(0, 2, 3))
        batches += 1
    return (total / count).tolist(), (std / batches).tolist()
