# Refuses to run without a GPU: sys.exit with a message ends with status 1.
import sys

import torch

print(torch.__version__)
if not torch.cuda.is_available():
    sys.exit("CUDA is not available, please install a GPU driver")
print(torch.cuda.get_device_name(0))
