import os

from PIL import Image
from torch.utils.data import Dataset


class DogCatDataset(Dataset):
    def __init__(self, data_dir, transform=None):
        """Kaggle dogs-vs-cats train folder: cat.0.jpg ... dog.12499.jpg, all in one folder."""
        self.label_name = {"cat": 1, "dog": 0}
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

    def get_img_info(self, data_dir):
        img_names = os.listdir(data_dir)
        img_names = list(filter(lambda x: x.endswith('.jpg'), img_names))
        data_info = []
        for img_name in img_names:
            label = self.label_name[img_name.split('.')[0]]
            data_info.append((os.path.join(data_dir, img_name), label))
        return data_info
