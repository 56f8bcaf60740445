"""w2-dogcat-dataset — DogCatDataset for Kaggle's dogs-vs-cats (W2T1 Q2).

Submit this file as my_dataset.py (or a notebook, or a .zip whose entry module is my_dataset.py).
data_dir is Kaggle's flat training folder: cat.0.jpg … cat.12499.jpg and dog.0.jpg … dog.12499.jpg
side by side, with no sub-folders.  Labels: cat = 0, dog = 1.
"""

import os

from PIL import Image
from torch.utils.data import Dataset


class DogCatDataset(Dataset):
    def __init__(self, data_dir, transform=None):
        """Collect (path, label) of every .jpg image in data_dir."""
        self.transform = transform
        raise NotImplementedError

    def __getitem__(self, index):
        """(img, label): img the image as an RGB PIL image, or transform(img) when a transform
        was given; label an int, 0 for a cat and 1 for a dog."""
        raise NotImplementedError

    def __len__(self):
        """The number of images."""
        raise NotImplementedError


if __name__ == "__main__":
    import torchvision.transforms as transforms
    from torch.utils.data import DataLoader

    train_transform = transforms.Compose([transforms.Resize((32, 32)), transforms.ToTensor()])
    train_data = DogCatDataset(data_dir=os.path.join("dogs-vs-cats", "train"), transform=train_transform)
    train_loader = DataLoader(train_data, batch_size=16, shuffle=True, num_workers=2)
    for images, labels in train_loader:
        print(images.shape, labels)
