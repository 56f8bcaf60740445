import torch
import torch.nn as nn

Q1 = """Because the sigmoid of a linear function gives a number between 0 and 1 that we use as the
probability of the positive class; a threshold of 0.5 then splits the plane with the straight line
w·x + b = 0 into the two classes."""


def train_logistic_regression(x, y, max_iters=1000):
    # train on logits with the numerically stable loss, then put the sigmoid on the returned model
    net = nn.Sequential(nn.Linear(2, 1))
    criterion = nn.BCEWithLogitsLoss()
    optimizer = torch.optim.Adam(net.parameters(), lr=0.05)
    for step in range(max_iters):
        logits = net(x).squeeze(1)
        loss = criterion(logits, y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return nn.Sequential(net, nn.Sigmoid())
