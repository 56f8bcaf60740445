"""Logistic regression with standardised inputs: the model keeps the training mean and std,
so it normalises new inputs the same way."""
import torch
from torch import nn

Q1 = """
The model is p = sigmoid(w . x + b). The sigmoid squashes the linear score into (0, 1), so p can be
read as P(class 1 | x). Thresholding p at 0.5 is the same as asking on which side of the line
w . x + b = 0 a point lies, which gives two classes. Minimising the binary cross-entropy is maximum
likelihood for a Bernoulli label, so training moves the line to where it explains the labels best.
"""


class NormalisedLogistic(nn.Module):
    def __init__(self, mean, std):
        super().__init__()
        self.register_buffer("mean", mean)
        self.register_buffer("std", std)
        self.linear = nn.Linear(2, 1)

    def forward(self, x):
        return torch.sigmoid(self.linear((x - self.mean) / self.std)).squeeze(-1)


def train_logistic_regression(x, y, max_iters=1000):
    model = NormalisedLogistic(x.mean(dim=0), x.std(dim=0))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    loss_fn = nn.BCELoss()
    for _ in range(max_iters):
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
    return model
