"""Reference RMBDataset (W2T1, lesson 6): the course's Dataset, as the statement asks for it."""

import os

from PIL import Image
from torch.utils.data import Dataset

LABELS = {"1": 0, "100": 1}


class RMBDataset(Dataset):
    def __init__(self, data_dir: str, transform=None):
        self.data_info = self.get_img_info(data_dir)
        self.transform = transform

    def __getitem__(self, index):
        path_img, label = self.data_info[index]
        img = Image.open(path_img).convert("RGB")
        if self.transform is not None:
            img = self.transform(img)
        return img, label

    def __len__(self):
        return len(self.data_info)

    @staticmethod
    def get_img_info(data_dir: str) -> list[tuple[str, int]]:
        data_info = []
        for root, dirs, _ in os.walk(data_dir):
            for sub_dir in dirs:
                img_names = [name for name in os.listdir(os.path.join(root, sub_dir)) if name.endswith(".jpg")]
                for name in img_names:
                    data_info.append((os.path.join(root, sub_dir, name), LABELS[sub_dir]))
        return data_info
