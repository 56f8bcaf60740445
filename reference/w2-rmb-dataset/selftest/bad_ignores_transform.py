import os

from PIL import Image
from torch.utils.data import Dataset


class RMBDataset(Dataset):
    def __init__(self, data_dir, transform=None):
        self.transform = transform
        self.items = []
        for folder, label in (("1", 0), ("100", 1)):
            for name in sorted(os.listdir(os.path.join(data_dir, folder))):
                if name.lower().endswith(".jpg"):
                    self.items.append((os.path.join(data_dir, folder, name), label))

    def __getitem__(self, index):
        path, label = self.items[index]
        return Image.open(path).convert("RGB"), label

    def __len__(self):
        return len(self.items)
