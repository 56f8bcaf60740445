from torchvision import transforms


def normalize(t, mean, std):
    return transforms.Normalize(mean, std)(t)


def channel_stats(images):
    return images.mean(dim=(0, 2, 3)).tolist(), images.std(dim=(0, 2, 3)).tolist()
