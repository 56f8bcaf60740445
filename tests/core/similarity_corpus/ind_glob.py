# homework week 2: train_rmb
import glob
import os
import random

import torch
import torch.nn as nn
from PIL import Image
from torch.utils.data import DataLoader, Dataset
import torchvision.transforms as T


def list_images(root):
    found = []
    for label, folder in ((0, "1"), (1, "100")):
        for path in glob.glob(os.path.join(root, folder, "*.jpg")):
            found.append((path, label))
    random.shuffle(found)
    return found


class NoteSet(Dataset):
    def __init__(self, root, tfm=None):
        self.pairs = list_images(root)
        self.tfm = tfm

    def __getitem__(self, k):
        p, lab = self.pairs[k]
        im = Image.open(p).convert("RGB")
        return (self.tfm(im) if self.tfm else im), lab

    def __len__(self):
        return len(self.pairs)


class Net(nn.Module):
    def __init__(self, classes=2):
        super(Net, self).__init__()
        self.conv = nn.Sequential(
            nn.Conv2d(3, 6, 5), nn.BatchNorm2d(6), nn.ReLU(inplace=True), nn.MaxPool2d(2, 2),
            nn.Conv2d(6, 16, 5), nn.BatchNorm2d(16), nn.ReLU(inplace=True), nn.MaxPool2d(2, 2))
        self.fc = nn.Sequential(nn.Linear(16 * 5 * 5, 120), nn.ReLU(inplace=True), nn.Dropout(0.2),
                                nn.Linear(120, 84), nn.ReLU(inplace=True), nn.Linear(84, classes))

    def forward(self, inp):
        feats = self.conv(inp)
        return self.fc(feats.view(feats.shape[0], -1))


def fit(model, loader, epochs, lr):
    crit = nn.CrossEntropyLoss(label_smoothing=0.05)
    opt = torch.optim.AdamW(model.parameters(), lr=lr)
    for e in range(epochs):
        model.train()
        total_loss = 0.0
        for imgs, labs in loader:
            opt.zero_grad()
            l = crit(model(imgs), labs)
            l.backward()
            opt.step()
            total_loss += l.item() * len(labs)
        print("epoch %d loss %.4f" % (e + 1, total_loss / len(loader.dataset)))
    return model


def check(model, loader):
    model.eval()
    good = 0
    with torch.no_grad():
        for imgs, labs in loader:
            good += (model(imgs).max(1)[1] == labs).sum().item()
    return good / len(loader.dataset)


def train_rmb(train_dir, valid_dir):
    random.seed(7)
    torch.manual_seed(7)
    norm = T.Normalize(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225])
    train_tfm = T.Compose([T.Resize((36, 36)), T.RandomCrop(32), T.RandomRotation(10), T.ToTensor(), norm])
    valid_tfm = T.Compose([T.Resize((32, 32)), T.ToTensor(), norm])
    model = fit(Net(), DataLoader(NoteSet(train_dir, train_tfm), batch_size=20, shuffle=True), 10, 3e-3)
    print("valid acc:", check(model, DataLoader(NoteSet(valid_dir, valid_tfm), batch_size=50)))
    return model.eval()
