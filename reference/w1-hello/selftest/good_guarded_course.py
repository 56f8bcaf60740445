# The course's hello script with the GPU line guarded, in a main() that returns the exit status.
import sys

import torch


def main() -> int:
    print("Hello World, Hello PyTorch {}".format(torch.__version__))
    print("\nCUDA is available:{}, version is {}".format(torch.cuda.is_available(), torch.version.cuda))
    if torch.cuda.is_available():
        print("\ndevice_name: {}".format(torch.cuda.get_device_name(0)))
    else:
        print("\nno GPU here, running on the CPU")
    return 0


if __name__ == "__main__":
    sys.exit(main())
