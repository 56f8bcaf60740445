"""train_lenet.py split like the course's repository: model/, tools/ became lenet.py, my_dataset.py."""
import torch
import torch.nn as nn
import torchvision.transforms as transforms
from torch.utils.data import DataLoader

from lenet import LeNet
from my_dataset import RMBDataset

norm_mean = [0.485, 0.456, 0.406]
norm_std = [0.229, 0.224, 0.225]


def train_rmb(train_dir, valid_dir):
    torch.manual_seed(1)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    train_transform = transforms.Compose([
        transforms.Resize((32, 32)),
        transforms.RandomCrop(32, padding=4),
        transforms.ToTensor(),
        transforms.Normalize(norm_mean, norm_std),
    ])
    train_loader = DataLoader(RMBDataset(train_dir, train_transform), batch_size=16, shuffle=True, num_workers=2)

    net = LeNet(classes=2).to(device)
    net.initialize_weights()
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=10, gamma=0.1)

    for epoch in range(10):
        net.train()
        for inputs, labels in train_loader:
            inputs, labels = inputs.to(device), labels.to(device)
            optimizer.zero_grad()
            loss = criterion(net(inputs), labels)
            loss.backward()
            optimizer.step()
        scheduler.step()
        print(f"epoch {epoch}: loss {loss.item():.4f}")
    return net
