"""w1-logistic-regression — train logistic regression; vary mean_value and bias (W1T3 Q1, Q2).

Fill in train_logistic_regression and answer Q1.  The model you return must map a tensor of
shape [M, 2] to the probability of class 1, of shape [M] or [M, 1].  Importing this module must
not train anything: keep experiments under if __name__ == "__main__".
"""

import torch
from torch import nn

Q1 = """
"""  # why can logistic regression do binary classification?


def make_data(mean_value: float = 1.7, bias: float = 1.0, sample_nums: int = 100):
    """The course's data: class 0 (label 0) around +mean_value, class 1 (label 1) around -mean_value."""
    n_data = torch.ones(sample_nums, 2)
    x0 = torch.normal(mean_value * n_data, 1) + bias
    x1 = torch.normal(-mean_value * n_data, 1) + bias
    x = torch.cat((x0, x1), 0)
    y = torch.cat((torch.zeros(sample_nums), torch.ones(sample_nums)), 0)
    return x, y


def train_logistic_regression(x: torch.Tensor, y: torch.Tensor, max_iters: int = 1000) -> nn.Module:
    """Train on x [N, 2] and labels y [N] (0. or 1.); return the trained model."""
    raise NotImplementedError


if __name__ == "__main__":
    torch.manual_seed(10)
    for mean_value, bias in [(1.7, 1.0), (1.0, 1.0), (5.0, 1.0), (1.7, 5.0), (1.7, -10.0)]:
        x, y = make_data(mean_value, bias)
        model = train_logistic_regression(x, y)
        test_x, test_y = make_data(mean_value, bias, sample_nums=5000)
        model.eval()
        with torch.no_grad():
            accuracy = ((model(test_x).reshape(-1) >= 0.5).float() == test_y).float().mean().item()
        print(f"mean_value {mean_value}, bias {bias}: held-out accuracy {accuracy:.3f}")
