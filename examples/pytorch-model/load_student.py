"""Loads the student Lepton exported to TorchScript with PyTorch alone, and scores it on the
Fashion-MNIST test images of its classes.

    /usr/bin/python3 examples/pytorch-model/load_student.py student.pt
"""
import gzip
import sys

import numpy as np
import torch

FASHION = "/usr/share/datasets/fashion-mnist"
NAMES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]


def idx(path: str, offset: int) -> np.ndarray:
    with gzip.open(path) as f:
        return np.frombuffer(f.read(), dtype=np.uint8, offset=offset)


model = torch.jit.load(sys.argv[1])  # a TorchScript file is code: load only files you trust
print("classes:", list(model.class_names), "input shape:", list(model.input_shape))
images = idx(f"{FASHION}/t10k-images-idx3-ubyte.gz", 16).reshape(-1, 28 * 28)
labels = [NAMES[i] for i in idx(f"{FASHION}/t10k-labels-idx1-ubyte.gz", 8)]
keep = [i for i, name in enumerate(labels) if name in model.class_names]
rows = torch.tensor(images[keep], dtype=torch.float32) / 255  # as the idx dataset reads pixels ("scale" 1/255)
with torch.no_grad():
    probabilities = model(rows)  # the fitted preprocessing runs inside
predicted = [model.class_names[i] for i in probabilities.argmax(1).tolist()]
correct = sum(p == labels[i] for p, i in zip(predicted, keep))
print(f"{len(keep)} test images, accuracy {correct / len(keep):.3f}; first: {predicted[0]} "
      f"({probabilities[0].max().item():.2f}), label {labels[keep[0]]}")
