import os

import numpy as np
import torch
from PIL import Image
from torch import nn

MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)


def load_folder(folder):
    """All images of folder/1 and folder/100 as one normalised tensor, with their labels."""
    pixels, targets = [], []
    for target, name in enumerate(["1", "100"]):
        sub = os.path.join(folder, name)
        for file in sorted(os.listdir(sub)):
            if not file.lower().endswith(".jpg"):
                continue
            img = Image.open(os.path.join(sub, file)).convert("RGB").resize((32, 32))
            arr = (np.asarray(img, dtype=np.float32) / 255.0 - MEAN) / STD
            pixels.append(arr.transpose(2, 0, 1))
            targets.append(target)
    return torch.tensor(np.stack(pixels)), torch.tensor(targets)


class LeNet5(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 6, 5), nn.Tanh(), nn.AvgPool2d(2),
                                      nn.Conv2d(6, 16, 5), nn.Tanh(), nn.AvgPool2d(2))
        self.classifier = nn.Sequential(nn.Linear(400, 120), nn.Tanh(), nn.Linear(120, 84), nn.Tanh(),
                                        nn.Linear(84, 2))

    def forward(self, batch):
        return self.classifier(self.features(batch).flatten(1))


def shifted(batch, pad=3):
    """Random translations: pad, then crop back to 32x32 at a random place."""
    padded = nn.functional.pad(batch, (pad, pad, pad, pad), mode="reflect")
    dx, dy = np.random.randint(0, 2 * pad + 1, size=2)
    return padded[:, :, dy:dy + 32, dx:dx + 32]


def train_rmb(train_dir, valid_dir):
    np.random.seed(3)
    torch.manual_seed(3)
    x, y = load_folder(train_dir)
    vx, vy = load_folder(valid_dir)
    model = LeNet5()
    optim = torch.optim.RMSprop(model.parameters(), lr=1e-3)
    for step in range(400):
        pick = torch.randint(0, len(x), (24,))
        model.train()
        loss = nn.functional.cross_entropy(model(shifted(x[pick])), y[pick])
        optim.zero_grad()
        loss.backward()
        optim.step()
        if step % 100 == 99:
            model.eval()
            with torch.no_grad():
                acc = (model(vx).argmax(1) == vy).float().mean().item()
            print("step", step + 1, "validation", round(acc, 3))
    model.eval()
    return model
