import glob
import os

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset


class DogCatDataset(Dataset):
    def __init__(self, data_dir, transform=None):
        self.img_paths = glob.glob(os.path.join(data_dir, "*.jpg"))
        self.transform = transform

    def __len__(self):
        return len(self.img_paths)

    def __getitem__(self, idx):
        img_path = self.img_paths[idx]
        img = torch.from_numpy(np.asarray(Image.open(img_path).convert("RGB")))
        label = 1 if "dog" in img_path else 0
        if self.transform:
            img = self.transform(img)
        return img, label
