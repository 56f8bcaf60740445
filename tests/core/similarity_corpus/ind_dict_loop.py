"""Week 2: the RMB classifier, with a training loop that keeps a history."""
import os
from collections import defaultdict

import torch
from torch import nn, optim
from torch.utils import data
from torchvision import transforms as tr
from PIL import Image

LABELS = {"1": 0, "100": 1}


class RMB(data.Dataset):
    def __init__(self, directory, pipeline):
        self.records = []
        for cls in sorted(os.listdir(directory)):
            if cls not in LABELS:
                continue
            for fname in os.listdir(os.path.join(directory, cls)):
                if fname.endswith(".jpg"):
                    self.records.append({"path": os.path.join(directory, cls, fname), "y": LABELS[cls]})
        self.pipeline = pipeline

    def __len__(self):
        return len(self.records)

    def __getitem__(self, idx):
        rec = self.records[idx]
        return self.pipeline(Image.open(rec["path"]).convert("RGB")), rec["y"]


def make_lenet(num_classes):
    layers = []
    for cin, cout in ((3, 6), (6, 16)):
        layers += [nn.Conv2d(cin, cout, 5), nn.LeakyReLU(0.1), nn.MaxPool2d(2)]
    layers.append(nn.Flatten())
    for fin, fout in ((400, 120), (120, 84)):
        layers += [nn.Linear(fin, fout), nn.LeakyReLU(0.1)]
    layers.append(nn.Linear(84, num_classes))
    net = nn.Sequential(*layers)
    for layer in net:
        if isinstance(layer, (nn.Conv2d, nn.Linear)):
            nn.init.kaiming_uniform_(layer.weight, a=0.1)
            nn.init.zeros_(layer.bias)
    return net


def run_epoch(net, batches, loss_fn, optimizer=None):
    training = optimizer is not None
    net.train(training)
    stats = defaultdict(float)
    with torch.set_grad_enabled(training):
        for inputs, targets in batches:
            logits = net(inputs)
            loss = loss_fn(logits, targets)
            if training:
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
            stats["loss"] += loss.item() * targets.numel()
            stats["right"] += (logits.argmax(-1) == targets).sum().item()
            stats["n"] += targets.numel()
    return {"loss": stats["loss"] / stats["n"], "acc": stats["right"] / stats["n"]}


def train_rmb(train_dir, valid_dir):
    torch.manual_seed(11)
    stats = ([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])
    train_pipe = tr.Compose([tr.RandomResizedCrop(32, scale=(0.8, 1.0)), tr.ToTensor(), tr.Normalize(*stats)])
    valid_pipe = tr.Compose([tr.Resize((32, 32)), tr.ToTensor(), tr.Normalize(*stats)])
    train_batches = data.DataLoader(RMB(train_dir, train_pipe), batch_size=8, shuffle=True)
    valid_batches = data.DataLoader(RMB(valid_dir, valid_pipe), batch_size=32)
    net = make_lenet(2)
    loss_fn = nn.CrossEntropyLoss()
    optimizer = optim.SGD(net.parameters(), lr=0.005, momentum=0.95)
    history = []
    for epoch in range(8):
        history.append((run_epoch(net, train_batches, loss_fn, optimizer), run_epoch(net, valid_batches, loss_fn)))
        print(epoch, history[-1])
    return net.eval()
