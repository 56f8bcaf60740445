import torch
import torch.nn as nn

Q1 = "Logistic regression outputs a score; a positive score means class 1 and a negative one class 0."


def train_logistic_regression(x, y, max_iters=1000):
    model = nn.Linear(2, 1)
    loss_fn = nn.BCEWithLogitsLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    for iteration in range(max_iters):
        loss = loss_fn(model(x).squeeze(), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return model  # the logits, no sigmoid
