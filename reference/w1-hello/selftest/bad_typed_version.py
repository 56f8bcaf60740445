# The version typed in by hand, from the student's own laptop.
import torch

print("torch version: 1.4.0")
print("cuda available:", torch.cuda.is_available())
