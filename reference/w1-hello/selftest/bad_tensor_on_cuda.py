# Puts a tensor on the GPU before printing anything.
import torch

x = torch.ones(2, 2).cuda()
print(torch.__version__, x.device)
