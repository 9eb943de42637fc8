"""Lazy re-exports (PEP 562), so `import seqrecipes` does not import TensorFlow.

A package lists its public names and the module each comes from; the module is imported the
first time one of its names is read (`seqrecipes.build_sequence_classifier`, or
`from seqrecipes import build_sequence_classifier`). `dir()`, `__all__` and `import *` see
every name. The command line's `--help` and its start-up stay free of TensorFlow this way.
"""

import importlib
import importlib.util


def attach(package, submodules):
    """Returns `(__getattr__, __dir__, __all__)` for `package`, re-exporting `submodules`' names.

    Args:
        package: str. The package's `__name__`.
        submodules: dict. Submodule name (relative to `package`) -> the public names it defines.

    Example:

    >>> getattr_, dir_, all_ = attach("seqrecipes", {"errors": ["SeqrecipesError"]})
    >>> getattr_("SeqrecipesError").__name__
    'SeqrecipesError'
    >>> all_
    ['SeqrecipesError']
    """
    namespace = importlib.import_module(package).__dict__
    exports = {
        name: f"{package}.{submodule}" for submodule, names in submodules.items() for name in names
    }

    def __getattr__(name):
        module_name = exports.get(name)
        if module_name is None:
            # A submodule read as an attribute (`datasets.streaming`), as the eager package
            # import once made possible: import it now.
            if importlib.util.find_spec(f"{package}.{name}") is None:
                raise AttributeError(f"module {package!r} has no attribute {name!r}")
            return importlib.import_module(f"{package}.{name}")
        value = getattr(importlib.import_module(module_name), name)
        namespace[name] = value  # the next read is an ordinary attribute
        return value

    def __dir__():
        return sorted(set(namespace) | set(exports))

    return __getattr__, __dir__, sorted(exports)


def import_all(package):
    """Imports every module `package` re-exports from, as a plain import of it once did.

    Importing them registers what they define with Keras (serializable layers, string
    functions), which loading a saved model needs.
    """
    module = importlib.import_module(package)
    for name in module.__all__:
        getattr(module, name)
