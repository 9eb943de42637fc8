"""engine.portable_export: the graph written, its description read from it, refusals."""

import json

import keras
import pytest

from seqrecipes.errors import InvalidArgumentError, MissingDependencyError
from seqrecipes.recipes.engine import artifacts, portable_export


def tiny_model(recurrent=False):
    inputs = keras.Input((None,), dtype="int32", name="token_ids")
    x = keras.layers.Embedding(10, 3, mask_zero=True)(inputs)
    x = keras.layers.GRU(2)(x) if recurrent else keras.layers.GlobalAveragePooling1D()(x)
    return keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(x))


@pytest.mark.parametrize("fmt, recurrent, batch", [("onnx", True, None), ("litert", False, None),
                                                   ("litert", True, 1)])
def test_the_description_is_read_from_the_written_graph(tmp_path, fmt, recurrent, batch):
    model = tiny_model(recurrent)

    def fill(staging):
        path = portable_export.export_graph(model, staging, fmt)
        assert path.name == portable_export.GRAPH_FILES[fmt]
        portable_export.write_description(
            staging, {"recipe": "test", "format": fmt, "graph": path.name})

    folder = artifacts.write_export(tmp_path / "out", fill)
    described = json.loads((folder / "seqrecipes.json").read_text())
    assert described["inputs"] == [{"name": "token_ids", "dtype": "int32",
                                    "shape": [batch, None]}]
    assert described["outputs"][0]["shape"] == [batch, 1]
    assert described["description_version"] == 1 and "keras" in described["versions"]
    # an export of ours: replaced only with overwrite
    with pytest.raises(Exception, match="already holds an export"):
        artifacts.write_export(folder, fill)


def test_the_converter_missing_names_the_export_extra(tmp_path, monkeypatch):
    real = portable_export.importlib.util.find_spec
    monkeypatch.setattr(portable_export.importlib.util, "find_spec",
                        lambda name: None if name == "tf2onnx" else real(name))
    with pytest.raises(MissingDependencyError, match=r'pip install "seqrecipes\[export\]"'):
        portable_export.export_graph(tiny_model(), tmp_path, "onnx")
    assert list(tmp_path.iterdir()) == []


def test_a_description_names_its_recipe_and_format(tmp_path):
    with pytest.raises(InvalidArgumentError, match="'format'"):
        portable_export.write_description(tmp_path, {"recipe": "sentiment"})


@pytest.mark.parametrize("fmt", ["tflite", "ONNX", None, "saved_model"])
def test_unknown_formats_are_refused(fmt):
    with pytest.raises(InvalidArgumentError, match="`format`"):
        portable_export.check_format(fmt)


def test_a_refused_format_gives_the_reason_and_the_formats_that_work():
    refused = {"onnx": "its Viterbi loop does not convert (measured)."}
    with pytest.raises(InvalidArgumentError, match=r"format='onnx': its Viterbi loop .* "
                                                   r"Choose format='savedmodel' \(or 'litert'\)"):
        portable_export.check_format("onnx", refused=refused)
    assert portable_export.check_format("litert", refused=refused) == "litert"


def test_reader_and_writer_agree_on_the_file_names():
    import seqrecipes.portable as portable

    assert portable.DESCRIPTION_FILE == artifacts.EXPORT_DESCRIPTION_FILE
    assert portable.SAVED_MODEL_FILE == artifacts.SAVED_MODEL_FILE
    assert portable_export.DESCRIPTION_VERSION == portable.DESCRIPTION_VERSION
