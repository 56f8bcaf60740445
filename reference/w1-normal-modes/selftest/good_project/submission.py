from normal_helpers import draw


def normal_tensor_tensor(mean, std):
    return draw(mean, std)


def normal_tensor_scalar(mean, std):
    return draw(mean, std)


def normal_scalar_tensor(mean, std):
    return draw(mean, std)


def normal_scalar_scalar(mean, std, size):
    return draw(mean, std, size)
