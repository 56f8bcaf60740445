import torch
import torch.nn as nn

Q1 = "sigmoid(wx+b) gives a probability, and 0.5 is the threshold between the two classes."


class LR(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Linear(2, 1)
        self.sigmoid = nn.Sigmoid()

    def forward(self, x):
        return self.sigmoid(self.features(x))


def train_logistic_regression(x, y, max_iters=1000):
    target = (y == 0).float()  # the cluster at +mean_value is the positive class
    lr_net = LR()
    loss_fn = nn.BCELoss()
    optimizer = torch.optim.SGD(lr_net.parameters(), lr=0.01, momentum=0.9)
    for iteration in range(max_iters):
        y_pred = lr_net(x)
        loss = loss_fn(y_pred.squeeze(), target)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    return lr_net
