"""w2-rmb-lenet — train the RMB classifier (W2T1, lesson 6).

Submit this module (as a .py file, a notebook, or a .zip of your project whose entry module is
submission.py; lenet.py and my_dataset.py may sit next to it) defining train_rmb.
"""

import os

import torch.nn as nn

NORM_MEAN = [0.485, 0.456, 0.406]
NORM_STD = [0.229, 0.224, 0.225]


def train_rmb(train_dir: str, valid_dir: str) -> nn.Module:
    """Train a LeNet on train_dir/1 and train_dir/100 (labels 0 and 1) and return it.

    The grader feeds the returned model images resized to 32x32, made tensors with ToTensor and
    normalised with NORM_MEAN / NORM_STD, as a Tensor[N, 3, 32, 32]; the model returns logits
    Tensor[N, 2].  valid_dir has the same layout, for your own validation.
    """
    raise NotImplementedError


if __name__ == "__main__":
    model = train_rmb(os.path.join("rmb_split", "train"), os.path.join("rmb_split", "valid"))
    print(model)
