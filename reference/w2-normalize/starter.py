"""w2-normalize — how transforms.Normalize works (W2T1, lesson 7).

Write normalize without torchvision: it must give what transforms.Normalize(mean, std)(t) gives,
and leave t unchanged.  channel_stats computes the per-channel mean and std of a data set.
"""

import torch


def normalize(t: torch.Tensor, mean, std) -> torch.Tensor:
    """t: [C, H, W]; mean, std: sequences of C numbers.  Returns (t - mean[c]) / std[c] per channel c."""
    raise NotImplementedError


def channel_stats(images: torch.Tensor) -> tuple[list[float], list[float]]:
    """images: [N, C, H, W].  Returns ([mean of channel 0, ...], [std of channel 0, ...])."""
    raise NotImplementedError


if __name__ == "__main__":
    t = torch.rand(3, 4, 5)
    print(normalize(t, [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]))
    print(channel_stats(torch.rand(8, 3, 4, 5)))
