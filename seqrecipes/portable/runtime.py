"""One session over an exported graph: onnxruntime for `model.onnx`, LiteRT for `model.tflite`.

`Session(export_dir, description).run(feeds)` takes NumPy arrays by input name and returns
the outputs in the order `seqrecipes.json` lists them, whatever the runtime. A graph exported
with a fixed batch (LiteRT graphs of recurrent models take one row: see
`engine.portable_export.export_graph`) is fed in slices of that batch, so callers always
pass a whole batch. Neither runtime imports TensorFlow.
"""

import importlib
import pathlib

import numpy as np

from seqrecipes.errors import MissingDependencyError

PORTABLE_INSTALL = 'pip install "seqrecipes[portable]"'
_RUNTIMES = {"onnx": ("onnxruntime", "onnxruntime"),
             "litert": ("ai_edge_litert.interpreter", "ai-edge-litert")}


def _import(fmt):
    module, package = _RUNTIMES[fmt]
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise MissingDependencyError(
            f"Reading a {fmt!r} export needs {package}, which is not installed. Install it "
            f"with: {PORTABLE_INSTALL}"
        ) from error


class Session:
    """Runs the graph of an ONNX or LiteRT export.

    Args:
        export_dir: pathlib.Path. The export folder.
        description: dict. Its `seqrecipes.json` ("format", "graph", "inputs", "outputs",
            and "signature" for LiteRT).
        threads: int or None. Intra-op threads (None: the runtime's default).
    """

    def __init__(self, export_dir, description, *, threads=None):
        self.format = description["format"]
        self.inputs = description["inputs"]
        self.outputs = description["outputs"]
        path = str(pathlib.Path(export_dir, description["graph"]))
        runtime = _import(self.format)
        if self.format == "onnx":
            options = runtime.SessionOptions()
            if threads is not None:
                options.intra_op_num_threads = threads
            self._session = runtime.InferenceSession(
                path, options, providers=["CPUExecutionProvider"])
        else:
            interpreter = runtime.Interpreter(model_path=path, num_threads=threads)
            self._runner = interpreter.get_signature_runner(description["signature"])
        batch = {spec["shape"][0] for spec in self.inputs if spec["shape"]}
        # A fixed batch size the graph takes (None: any).
        self.batch_size = next(iter(batch)) if len(batch) == 1 else None

    def _run(self, feeds):
        names = [spec["name"] for spec in self.outputs]
        if self.format == "onnx":
            return self._session.run(names, feeds)
        results = self._runner(**feeds)
        return [results[name] for name in names]

    def run(self, feeds):
        """The outputs for `feeds` (input name -> array, each with the batch first), in order.

        Arrays are cast to the dtype the graph declares for the input.
        """
        feeds = {spec["name"]: np.asarray(feeds[spec["name"]], dtype=spec["dtype"])
                 for spec in self.inputs}
        rows = len(next(iter(feeds.values())))
        if self.batch_size is None or rows == self.batch_size:
            return self._run(feeds)
        parts = []
        for start in range(0, rows, self.batch_size):
            chunk = {name: value[start:start + self.batch_size] for name, value in feeds.items()}
            short = self.batch_size - len(next(iter(chunk.values())))
            if short:  # the last slice, padded with copies of its last row
                chunk = {name: np.concatenate([value, np.repeat(value[-1:], short, axis=0)])
                         for name, value in chunk.items()}
            outputs = self._run(chunk)
            parts.append([output[:len(output) - short] for output in outputs])
        return [np.concatenate(part) for part in zip(*parts)]
