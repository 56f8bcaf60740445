# -*- coding: utf-8 -*-
# 逻辑回归：课程第 5 课的训练循环，封装成函数
import torch
import torch.nn as nn

Q1 = """
逻辑回归先计算线性组合 wx + b，再经过 sigmoid 函数把它映射到 (0, 1) 之间，可以看作属于类别 1 的概率。
概率大于等于 0.5 判为类别 1，否则为类别 0，相当于用 wx + b = 0 这条直线把平面分成两部分，所以能做二分类。
"""


class LR(nn.Module):
    def __init__(self):
        super(LR, self).__init__()
        self.features = nn.Linear(2, 1)
        self.sigmoid = nn.Sigmoid()

    def forward(self, x):
        x = self.features(x)
        x = self.sigmoid(x)
        return x


def train_logistic_regression(x, y, max_iters=1000):
    lr_net = LR()
    loss_fn = nn.BCELoss()
    lr = 0.01
    optimizer = torch.optim.SGD(lr_net.parameters(), lr=lr, momentum=0.9)

    for iteration in range(max_iters):
        # 前向传播
        y_pred = lr_net(x)
        # 计算 loss
        loss = loss_fn(y_pred.squeeze(), y)
        # 反向传播
        loss.backward()
        # 更新参数
        optimizer.step()
        # 清空梯度
        optimizer.zero_grad()

        if iteration % 20 == 0:
            mask = y_pred.ge(0.5).float().squeeze()  # 以0.5为阈值进行分类
            correct = (mask == y).sum()  # 计算正确预测的样本个数
            acc = correct.item() / y.size(0)  # 计算分类准确率
            if acc > 0.99:
                break
    return lr_net


if __name__ == "__main__":
    torch.manual_seed(10)
    sample_nums = 100
    mean_value = 1.7
    bias = 1
    n_data = torch.ones(sample_nums, 2)
    x0 = torch.normal(mean_value * n_data, 1) + bias
    y0 = torch.zeros(sample_nums)
    x1 = torch.normal(-mean_value * n_data, 1) + bias
    y1 = torch.ones(sample_nums)
    train_x = torch.cat((x0, x1), 0)
    train_y = torch.cat((y0, y1), 0)
    model = train_logistic_regression(train_x, train_y)
    print(model.features.weight, model.features.bias)
