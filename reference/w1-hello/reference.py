"""Reference solution for w1-hello (trusted process only): the course's hello script, with
the GPU lines run only where there is a GPU."""

import torch


def main() -> None:
    print(f"Hello World, Hello PyTorch {torch.__version__}")
    print(f"CUDA is available: {torch.cuda.is_available()}, version is {torch.version.cuda}")
    if torch.cuda.is_available():
        print(f"device_name: {torch.cuda.get_device_name(0)}")


if __name__ == "__main__":
    main()
