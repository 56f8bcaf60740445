# The course's loop: manual updates through .data, gradients zeroed, the stop rule tested
# every 20 iterations; final_loss is the loss computed before the last update.
import torch


def train_linear_regression(x, y, lr=0.05, loss_threshold=1.0, max_iters=1000):
    w = torch.randn((1), requires_grad=True)
    b = torch.zeros((1), requires_grad=True)

    for iteration in range(max_iters):
        wx = torch.mul(w, x)
        y_pred = torch.add(wx, b)

        loss = (0.5 * (y - y_pred) ** 2).mean()
        loss.backward()

        b.data.sub_(lr * b.grad)
        w.data.sub_(lr * w.grad)

        w.grad.zero_()
        b.grad.zero_()

        if iteration % 20 == 0:
            if loss.data.numpy() < loss_threshold:
                break

    return {"w": w.data.numpy()[0].item(), "b": b.data.numpy()[0].item(), "iterations": iteration,
            "final_loss": loss.item()}


if __name__ == "__main__":
    torch.manual_seed(10)
    x = torch.rand(20, 1) * 10
    y = 2 * x + (5 + torch.randn(20, 1))
    print(train_linear_regression(x, y))
