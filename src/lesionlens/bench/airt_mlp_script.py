"""Stand-alone script: a fully monotone MLP of the ``monotonic-nn`` package (airt ``MonoDense``,
Runje & Shankaranarayana, ICML 2023) trained on a task saved by :mod:`.monotonic_nn`.

It runs in a *separate* interpreter that has ``pip install monotonic-nn`` (TensorFlow < 2.16, which
needs NumPy < 2 and so cannot share lesionlens' environment). It imports nothing from lesionlens.

Usage: ``python airt_mlp_script.py TASK.npz RESULT.json`` where TASK.npz holds x_train, y_train,
x_val, y_val, x_test, y_test, depth, width, epochs, lr, batch_size, seed. Writes
``{"test_accuracy", "best_epoch", "diverged", "seconds"}`` — the best-validation weights are scored
on test, as in lesionlens' own Table 6.2 rows.
"""

import json
import sys
import time

import numpy as np


def main(task_path: str, result_path: str) -> None:
    import tensorflow as tf
    from airt.keras.layers import MonoDense

    task = np.load(task_path)
    depth, width = int(task["depth"]), int(task["width"])
    epochs, batch_size, seed = int(task["epochs"]), int(task["batch_size"]), int(task["seed"])
    n_classes = int(task["y_train"].max()) + 1
    tf.keras.utils.set_random_seed(seed)
    inputs = tf.keras.Input(shape=(task["x_train"].shape[1],))
    h = inputs
    for _ in range(depth - 1):  # every input monotone increasing, as make_monotone's networks
        h = MonoDense(width, activation="elu", monotonicity_indicator=1)(h)
    outputs = MonoDense(n_classes, monotonicity_indicator=1)(h)
    model = tf.keras.Model(inputs, outputs)
    model.compile(
        optimizer=tf.keras.optimizers.Adam(float(task["lr"])),
        loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    best = {"accuracy": -1.0, "epoch": None, "weights": None}

    class KeepBest(tf.keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            accuracy = float((logs or {}).get("val_accuracy", float("nan")))
            if accuracy > best["accuracy"]:
                best.update(accuracy=accuracy, epoch=epoch + 1, weights=model.get_weights())

    start = time.perf_counter()
    history = model.fit(
        task["x_train"], task["y_train"], validation_data=(task["x_val"], task["y_val"]),
        epochs=epochs, batch_size=batch_size, shuffle=True, verbose=0,
        callbacks=[KeepBest(), tf.keras.callbacks.TerminateOnNaN()],
    )
    diverged = not np.all(np.isfinite(history.history["loss"])) or best["weights"] is None
    result = {"test_accuracy": float("nan"), "best_epoch": None, "diverged": True}
    if not diverged:
        model.set_weights(best["weights"])
        logits = model.predict(task["x_test"], batch_size=1024, verbose=0)
        accuracy = float((logits.argmax(1) == task["y_test"]).mean())
        result = {"test_accuracy": round(accuracy, 4), "best_epoch": best["epoch"],
                  "diverged": False}
    result["seconds"] = round(time.perf_counter() - start, 2)
    with open(result_path, "w") as f:
        json.dump(result, f)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
