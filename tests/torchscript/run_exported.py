"""Loads a file from `lepton export --format torchscript` with PyTorch alone and prints, as JSON,
its probabilities for the rows of a CSV file (one sample per line, flattened) and its metadata.

    python3 run_exported.py MODEL.pt ROWS.csv
"""
import csv
import json
import sys

import torch


def main(model_file: str, rows_file: str) -> None:
    model = torch.jit.load(model_file)
    with open(rows_file, newline="") as f:
        rows = [[float(v) for v in line] for line in csv.reader(f)]
    with torch.no_grad():
        probabilities = model(torch.tensor(rows, dtype=torch.float32))
    print(json.dumps({
        "probabilities": probabilities.double().tolist(),
        "class_names": list(model.class_names),
        "feature_names": list(model.feature_names),
        "input_shape": list(model.input_shape),
        "lepton": json.loads(model.lepton),
        "parameters": [name for name, _ in model.named_parameters()],
    }))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
