# Copied from a notebook: the bare expression is displayed there, but a script prints nothing.
import torch

torch.__version__
