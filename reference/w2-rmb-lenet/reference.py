"""Reference train_rmb (W2T1, lesson 6): the course's LeNet and training setup."""

import os
import random

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision.transforms as transforms
from PIL import Image
from torch.utils.data import DataLoader, Dataset

LABELS = {"1": 0, "100": 1}
MEAN, STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
EPOCHS, BATCH_SIZE, LR = 10, 16, 0.01


class RMBDataset(Dataset):
    def __init__(self, data_dir: str, transform=None):
        self.data_info = [(os.path.join(data_dir, folder, name), label) for folder, label in LABELS.items()
                          for name in sorted(os.listdir(os.path.join(data_dir, folder))) if name.endswith(".jpg")]
        self.transform = transform

    def __getitem__(self, index):
        path, label = self.data_info[index]
        return self.transform(Image.open(path).convert("RGB")), label

    def __len__(self):
        return len(self.data_info)


class LeNet(nn.Module):
    def __init__(self, classes: int):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 5)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, classes)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = x.view(x.size(0), -1)
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))

    def initialize_weights(self):
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.xavier_normal_(module.weight)
                nn.init.zeros_(module.bias)
            elif isinstance(module, nn.Linear):
                nn.init.normal_(module.weight, 0, 0.1)
                nn.init.zeros_(module.bias)


def set_seed(seed: int = 1):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def train_rmb(train_dir: str, valid_dir: str) -> nn.Module:
    set_seed(1)
    train_transform = transforms.Compose([transforms.Resize((32, 32)), transforms.RandomCrop(32, padding=4),
                                          transforms.ToTensor(), transforms.Normalize(MEAN, STD)])
    loader = DataLoader(RMBDataset(train_dir, train_transform), batch_size=BATCH_SIZE, shuffle=True)
    net = LeNet(classes=2)
    net.initialize_weights()
    optimizer = torch.optim.SGD(net.parameters(), lr=LR, momentum=0.9)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=10, gamma=0.1)
    criterion = nn.CrossEntropyLoss()
    for _ in range(EPOCHS):
        net.train()
        for inputs, labels in loader:
            optimizer.zero_grad()
            loss = criterion(net(inputs), labels)
            loss.backward()
            optimizer.step()
        scheduler.step()
    return net
