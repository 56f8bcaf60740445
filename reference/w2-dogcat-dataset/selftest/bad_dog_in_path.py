import glob
import os

from PIL import Image
from torch.utils.data import Dataset


class DogCatDataset(Dataset):
    def __init__(self, data_dir, transform=None):
        self.imgs = glob.glob(os.path.join(data_dir, "*.jpg"))
        self.transform = transform

    def __getitem__(self, index):
        img_path = self.imgs[index]
        label = 1 if "dog" in img_path else 0
        img = Image.open(img_path).convert("RGB")
        if self.transform:
            img = self.transform(img)
        return img, label

    def __len__(self):
        return len(self.imgs)
