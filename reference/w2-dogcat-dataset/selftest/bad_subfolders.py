import os

from PIL import Image
from torch.utils.data import Dataset

label_name = {"cat": 0, "dog": 1}


class DogCatDataset(Dataset):
    """Written like the course's RMBDataset: one sub-folder per class."""

    def __init__(self, data_dir, transform=None):
        self.data_info = self.get_img_info(data_dir)
        self.transform = transform

    def __getitem__(self, index):
        path_img, label = self.data_info[index]
        img = Image.open(path_img).convert('RGB')
        if self.transform is not None:
            img = self.transform(img)
        return img, label

    def __len__(self):
        return len(self.data_info)

    @staticmethod
    def get_img_info(data_dir):
        data_info = list()
        for root, dirs, _ in os.walk(data_dir):
            for sub_dir in dirs:
                img_names = os.listdir(os.path.join(root, sub_dir))
                img_names = list(filter(lambda x: x.endswith('.jpg'), img_names))
                for img_name in img_names:
                    data_info.append((os.path.join(root, sub_dir, img_name), label_name[sub_dir]))
        return data_info
