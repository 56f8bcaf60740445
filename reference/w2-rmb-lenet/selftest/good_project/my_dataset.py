import os

from PIL import Image
from torch.utils.data import Dataset

rmb_label = {"1": 0, "100": 1}


class RMBDataset(Dataset):
    def __init__(self, data_dir, transform=None):
        self.data_info = [(os.path.join(data_dir, sub_dir, name), rmb_label[sub_dir])
                          for sub_dir in rmb_label
                          for name in os.listdir(os.path.join(data_dir, sub_dir)) if name.endswith(".jpg")]
        self.transform = transform

    def __getitem__(self, index):
        path_img, label = self.data_info[index]
        img = Image.open(path_img).convert("RGB")
        if self.transform is not None:
            img = self.transform(img)
        return img, label

    def __len__(self):
        return len(self.data_info)
