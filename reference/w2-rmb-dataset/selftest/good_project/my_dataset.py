import os

from PIL import Image
from torch.utils.data import Dataset

from image_files import is_image

LABEL_OF_FOLDER = {"1": 0, "100": 1}


class RMBDataset(Dataset):
    def __init__(self, data_dir, transform=None):
        self.transform = transform
        self.paths, self.labels = [], []
        for folder, label in LABEL_OF_FOLDER.items():
            for name in os.listdir(os.path.join(data_dir, folder)):
                path = os.path.join(data_dir, folder, name)
                if is_image(path):
                    self.paths.append(path)
                    self.labels.append(label)

    def __getitem__(self, i):
        img = Image.open(self.paths[i]).convert("RGB")
        return (self.transform(img) if self.transform is not None else img), self.labels[i]

    def __len__(self):
        return len(self.paths)
