import torch
import torch.nn as nn

Q1 = "Because the sigmoid output is a probability between 0 and 1, and 0.5 splits it into two classes."


def train_logistic_regression(x, y, max_iters=1000):
    model = nn.Sequential(nn.Linear(2, 1), nn.Sigmoid())
    loss_fn = nn.BCELoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    for iteration in range(max_iters):
        loss = loss_fn(model(x).squeeze(), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return model  # indented one level too far: returns after the first step
