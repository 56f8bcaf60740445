"""w2-rmb-dataset — RMBDataset (W2T1, lesson 6).

Submit this file as my_dataset.py (or a notebook, or a .zip whose entry module is my_dataset.py).
data_dir holds the sub-folders 1 and 100 of .jpg images; their labels are 0 and 1.
"""

import os

from PIL import Image
from torch.utils.data import Dataset

rmb_label = {"1": 0, "100": 1}


class RMBDataset(Dataset):
    def __init__(self, data_dir, transform=None):
        """Collect (path, label) of every .jpg image in the sub-folders 1 and 100 of data_dir."""
        self.transform = transform
        raise NotImplementedError

    def __getitem__(self, index):
        """(img, label): img the image as an RGB PIL image, or transform(img) when a transform
        was given; label an int."""
        raise NotImplementedError

    def __len__(self):
        """The number of images."""
        raise NotImplementedError


if __name__ == "__main__":
    import torchvision.transforms as transforms
    from torch.utils.data import DataLoader

    train_transform = transforms.Compose([transforms.Resize((32, 32)), transforms.ToTensor()])
    train_data = RMBDataset(data_dir=os.path.join("rmb_split", "train"), transform=train_transform)
    train_loader = DataLoader(train_data, batch_size=4, shuffle=True, num_workers=2)
    for images, labels in train_loader:
        print(images.shape, labels)
