import torch
import torch.nn as nn

Q1 = "It predicts a probability with the sigmoid and compares it with 0.5."


def train_logistic_regression(x, y, max_iters=1000):
    model = nn.Sequential(nn.Linear(2, 1), nn.Sigmoid())
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    for iteration in range(max_iters):
        y_pred = model(x)
        loss = nn.functional.binary_cross_entropy(y_pred.squeeze(1), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return y_pred  # the predictions on the training data, not the model
