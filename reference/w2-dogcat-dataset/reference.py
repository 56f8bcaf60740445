"""Reference DogCatDataset (W2T1 Q2): Kaggle's flat dogs-vs-cats folder, labels from file names."""

import os

from PIL import Image
from torch.utils.data import Dataset

LABELS = {"cat": 0, "dog": 1}


class DogCatDataset(Dataset):
    def __init__(self, data_dir: str, transform=None):
        self.data_info = [(os.path.join(data_dir, name), LABELS[name.split(".")[0]])
                          for name in sorted(os.listdir(data_dir))
                          if name.endswith(".jpg") and name.split(".")[0] in LABELS]
        self.transform = transform

    def __getitem__(self, index):
        path_img, label = self.data_info[index]
        img = Image.open(path_img).convert("RGB")
        if self.transform is not None:
            img = self.transform(img)
        return img, label

    def __len__(self):
        return len(self.data_info)
