import glob
import os

from PIL import Image
from torch.utils.data import Dataset


class RMBDataset(Dataset):
    def __init__(self, data_dir, transform=None):
        self.images = glob.glob(os.path.join(data_dir, "*", "*.jpg"))
        self.transform = transform

    def __len__(self):
        return len(self.images)

    def __getitem__(self, idx):
        path = self.images[idx]
        label = int(os.path.basename(os.path.dirname(path)))  # the folder says 1 or 100
        img = Image.open(path).convert("RGB")
        if self.transform:
            img = self.transform(img)
        return img, label
