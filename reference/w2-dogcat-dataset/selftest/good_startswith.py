import glob
import os

import torch
from PIL import Image


class DogCatDataset(torch.utils.data.Dataset):
    def __init__(self, data_dir, transform=None):
        self.paths = sorted(glob.glob(os.path.join(data_dir, "*.jpg")))
        self.transform = transform

    def __len__(self):
        return len(self.paths)

    def __getitem__(self, idx):
        path = self.paths[idx]
        label = 1 if os.path.basename(path).startswith("dog") else 0
        image = Image.open(path).convert("RGB")
        return (self.transform(image) if self.transform else image), label
