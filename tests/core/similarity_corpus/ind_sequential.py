"""RMB notes with a Sequential LeNet and Adam."""
from pathlib import Path

import torch
from PIL import Image
from torch import nn
from torch.utils.data import DataLoader, Dataset
from torchvision import transforms

MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
CLASSES = {"1": 0, "100": 1}


class Banknotes(Dataset):
    def __init__(self, root, transform):
        self.items = [(path, CLASSES[path.parent.name]) for path in sorted(Path(root).glob("*/*.jpg"))
                      if path.parent.name in CLASSES]
        self.transform = transform

    def __len__(self):
        return len(self.items)

    def __getitem__(self, index):
        path, label = self.items[index]
        with Image.open(path) as image:
            return self.transform(image.convert("RGB")), label


def build_model():
    return nn.Sequential(
        nn.Conv2d(3, 6, kernel_size=5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, kernel_size=5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(400, 120), nn.ReLU(),
        nn.Linear(120, 84), nn.ReLU(),
        nn.Linear(84, 2),
    )


def accuracy(model, loader):
    model.eval()
    hits = seen = 0
    with torch.no_grad():
        for images, labels in loader:
            hits += (model(images).argmax(dim=1) == labels).sum().item()
            seen += len(labels)
    return hits / max(seen, 1)


def train_rmb(train_dir, valid_dir):
    torch.manual_seed(0)
    augment = transforms.Compose([transforms.Resize((32, 32)), transforms.RandomHorizontalFlip(),
                                  transforms.ToTensor(), transforms.Normalize(MEAN, STD)])
    plain = transforms.Compose([transforms.Resize((32, 32)), transforms.ToTensor(), transforms.Normalize(MEAN, STD)])
    train = DataLoader(Banknotes(train_dir, augment), batch_size=32, shuffle=True)
    valid = DataLoader(Banknotes(valid_dir, plain), batch_size=64)
    model = build_model()
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-3, weight_decay=1e-4)
    loss_fn = nn.CrossEntropyLoss()
    for epoch in range(15):
        model.train()
        for images, labels in train:
            optimizer.zero_grad()
            loss_fn(model(images), labels).backward()
            optimizer.step()
        print(f"epoch {epoch}: valid accuracy {accuracy(model, valid):.3f}")
    return model.eval()
