import os

from PIL import Image
from torch.utils.data import Dataset


class DogCatDataset(Dataset):
    def __init__(self, data_dir, transform=None):
        self.files = [os.path.join(data_dir, name) for name in os.listdir(data_dir)]
        self.transform = transform

    def __getitem__(self, index):
        path = self.files[index]
        label = 0 if os.path.basename(path).startswith("cat") else 1
        img = Image.open(path).convert("RGB")
        if self.transform is not None:
            img = self.transform(img)
        return img, label

    def __len__(self):
        return len(self.files)
