# The hello script uploaded to the wrong assignment.
import torch

print(torch.__version__)
