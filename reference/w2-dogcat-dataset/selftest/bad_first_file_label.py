import os

from PIL import Image
from torch.utils.data import Dataset


class DogCatDataset(Dataset):
    def __init__(self, data_dir, transform=None):
        self.names = sorted(name for name in os.listdir(data_dir) if name.endswith(".jpg"))
        self.data_dir = data_dir
        self.label = 0 if self.names[0].split(".")[0] == "cat" else 1
        self.transform = transform

    def __getitem__(self, index):
        img = Image.open(os.path.join(self.data_dir, self.names[index])).convert("RGB")
        if self.transform is not None:
            img = self.transform(img)
        return img, self.label

    def __len__(self):
        return len(self.names)
