import os

from PIL import Image
from torch.utils.data import Dataset


class RMBDataset(Dataset):
    def __init__(self, data_dir, transform=None):
        self.label_name = {"1": 0, "100": 1}
        self.transform = transform
        self.data_info = []
        for root, dirs, _ in os.walk(data_dir):
            for sub_dir in dirs:
                for name in filter(lambda x: x.endswith(".jpg"), os.listdir(os.path.join(root, sub_dir))):
                    self.data_info.append((os.path.join(root, sub_dir, name), self.label_name[sub_dir]))

    def __getitem__(self, index):
        path_img, label = self.data_info[index]
        img = Image.open(path_img)
        if self.transform is not None:
            img = self.transform(img)
        return img, label

    def __len__(self):
        return len(self.data_info)
