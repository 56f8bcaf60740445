import copy

import torch
import torch.nn as nn
import torch.nn.functional as F
from torchvision import datasets, transforms

NORM = transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])


class SmallNet(nn.Module):
    """LeNet-5 for 32x32 RGB input."""

    def __init__(self, n_out=2):
        super().__init__()
        self.c1 = nn.Conv2d(3, 6, 5)
        self.c2 = nn.Conv2d(6, 16, 5)
        self.h1 = nn.Linear(16 * 25, 120)
        self.h2 = nn.Linear(120, 84)
        self.head = nn.Linear(84, n_out)

    def forward(self, x):
        x = F.max_pool2d(torch.relu(self.c1(x)), 2)
        x = F.max_pool2d(torch.relu(self.c2(x)), 2)
        x = torch.flatten(x, 1)
        return self.head(torch.relu(self.h2(torch.relu(self.h1(x)))))


def loaders(train_dir, valid_dir, batch=16):
    tf_train = transforms.Compose([transforms.Resize((32, 32)), transforms.RandomCrop(32, padding=2),
                                   transforms.ColorJitter(0.2, 0.2), transforms.ToTensor(), NORM])
    tf_eval = transforms.Compose([transforms.Resize((32, 32)), transforms.ToTensor(), NORM])
    rgb = lambda path: datasets.folder.default_loader(path).convert("RGB")
    train_set = datasets.ImageFolder(train_dir, transform=tf_train, loader=rgb)
    valid_set = datasets.ImageFolder(valid_dir, transform=tf_eval, loader=rgb)
    assert train_set.class_to_idx == {"1": 0, "100": 1}, train_set.class_to_idx
    return (torch.utils.data.DataLoader(train_set, batch_size=batch, shuffle=True),
            torch.utils.data.DataLoader(valid_set, batch_size=batch * 4))


def evaluate(net, loader):
    net.eval()
    correct = 0
    with torch.no_grad():
        for xb, yb in loader:
            correct += int((net(xb).argmax(1) == yb).sum())
    return correct / len(loader.dataset)


def train_rmb(train_dir, valid_dir):
    torch.manual_seed(42)
    train_loader, valid_loader = loaders(train_dir, valid_dir)
    net = SmallNet()
    opt = torch.optim.SGD(net.parameters(), lr=0.02, momentum=0.9, nesterov=True)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=12)
    best, best_state = -1.0, None
    for ep in range(12):
        net.train()
        for xb, yb in train_loader:
            loss = F.cross_entropy(net(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
        sched.step()
        score = evaluate(net, valid_loader)
        if score > best:
            best, best_state = score, copy.deepcopy(net.state_dict())
    net.load_state_dict(best_state)
    return net.eval()
