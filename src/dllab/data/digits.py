"""The UCI handwritten digits bundled with scikit-learn (Alpaydin & Kaynak, 1998): 1797 real 8x8
images, no download. The split is fixed so every run and every seed sees the same test set.
"""

import numpy as np

from dllab.data.base import Dataset, as_tensors, register_dataset

SPLIT_SEED = 0  # the train_test_split random_state: fixed, independent of any run seed
N_VAL, N_TEST = 180, 360  # stratified; train keeps the other 1257


@register_dataset("digits")
def digits(flatten: bool = False) -> Dataset:
    """X (N, 1, 8, 8) float32 in [0, 1] (or (N, 64) with `flatten`), y digits (N,).

    Train/val/test are 1257/180/360 images, stratified by class with a fixed random_state.
    """
    from sklearn.datasets import load_digits  # imported here: scikit-learn is slow to import
    from sklearn.model_selection import train_test_split

    bunch = load_digits()
    X = bunch.data.astype(np.float32) / 16.0  # pixel counts 0..16 -> [0, 1]
    X = X if flatten else X.reshape(-1, 1, 8, 8)  # (N, 1, 8, 8)
    y = bunch.target
    X_rest, X_test, y_rest, y_test = train_test_split(
        X, y, test_size=N_TEST, stratify=y, random_state=SPLIT_SEED
    )
    X_train, X_val, y_train, y_val = train_test_split(
        X_rest, y_rest, test_size=N_VAL, stratify=y_rest, random_state=SPLIT_SEED
    )
    return Dataset(
        "digits",
        train=as_tensors(X_train, y_train),
        val=as_tensors(X_val, y_val),
        test=as_tensors(X_test, y_test),
        classes=tuple(str(d) for d in range(10)),
    )
