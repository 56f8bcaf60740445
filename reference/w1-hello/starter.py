"""w1-hello — hello pytorch (W1T1 Q1).

A script: the grader runs this file as __main__ on a machine without a GPU.
It must print the installed torch version and finish normally (exit status 0).
"""

import torch

# Print torch.__version__ here.

# The course's script also prints the GPU's name with torch.cuda.get_device_name(0).
# That call raises on a machine without a GPU: only make it when torch.cuda.is_available().
