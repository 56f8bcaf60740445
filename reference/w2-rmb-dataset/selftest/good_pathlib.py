from pathlib import Path

from PIL import Image
from torch.utils.data import Dataset

CLASSES = {"1": 0, "100": 1}


class RMBDataset(Dataset):
    """1-yuan vs 100-yuan notes: data_dir/1/*.jpg and data_dir/100/*.jpg."""

    def __init__(self, data_dir, transform=None):
        self.samples = [(path, CLASSES[path.parent.name])
                        for path in sorted(Path(data_dir).glob("*/*.jpg")) if path.parent.name in CLASSES]
        self.transform = transform

    def __len__(self):
        return len(self.samples)

    def __getitem__(self, index):
        path, label = self.samples[index]
        with Image.open(path) as image:
            image = image.convert("RGB")
        if self.transform:
            image = self.transform(image)
        return image, label
