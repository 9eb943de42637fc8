"""What a file holds, by content: the SHA-256 of run files and the fingerprint of a run's inputs.

A run directory's manifest (`artifacts.read_manifest`) and an interrupted run's training state
(`resume`) both say which files they were made from or of by size and SHA-256, and check them
by content: a file zeroed or edited at the same size (as after a power cut) keeps its size and
often its modification time, but never its hash.

SHA-256 rather than BLAKE2b: with the SHA instructions of current x86 CPUs, `hashlib.sha256`
streamed the IMDB training file (`../shared/data/imdb/train.csv.gz`, 12.9 MB) in 7.9 ms
(1.6 GB/s) and its 33.8 MB uncompressed CSV in 21 ms on this project's 2-core machine, where
`blake2b` took 13 and 36 ms (best of five, `hashlib.file_digest`).

Which settings name input files is one rule for every recipe (`input_files`), not a list per
recipe: a setting whose value is an existing file, a glob pattern matching files (a stream's
shards), a list of those, or a complete run directory (whose `run.json` hashes every file in
it, such as NER's `bilm`).
"""

import glob
import hashlib
import os

# What marks a complete run directory (`artifacts.MANIFEST`; not imported from there, which
# would bring the writing machinery into a module of checks).
RUN_MANIFEST = "run.json"
# The setting that names where the run itself is written: its files are outputs, never inputs.
OWN_DIRECTORY = "run_dir"


def sha256(path):
    """The hex SHA-256 of the file at `path`, read in blocks (`hashlib.file_digest`)."""
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def file_record(path):
    """{"bytes", "mtime_ns", "sha256"} of the file at `path`."""
    status = os.stat(path)
    return {"bytes": status.st_size, "mtime_ns": status.st_mtime_ns, "sha256": sha256(path)}


def _named_files(value):
    """The files a setting's value names, in order, or [] when it names none."""
    values = value if isinstance(value, (list, tuple)) else [value]
    paths = []
    for item in values:
        if isinstance(item, os.PathLike):
            item = os.fspath(item)
        if not isinstance(item, str) or not item:
            continue
        if glob.has_magic(item):
            paths.extend(sorted(path for path in glob.glob(item) if os.path.isfile(path)))
        elif os.path.isfile(item):
            paths.append(item)
        elif os.path.isfile(os.path.join(item, RUN_MANIFEST)):
            paths.append(os.path.join(item, RUN_MANIFEST))
    return paths


def input_files(config):
    """{setting: [file, ...]} for every setting of `config` that names input files.

    The paths are kept as the settings give them (relative to the working directory when
    relative), so that a rerun from another directory, which reads other files under the same
    names, is compared by their content.
    """
    found = {}
    for key, value in config.items():
        if key == OWN_DIRECTORY:
            continue
        paths = _named_files(value)
        if paths:
            found[key] = paths
    return found


def fingerprint(config):
    """{setting: {file: `file_record`}} of every input file `config` names (`input_files`)."""
    return {key: {path: file_record(path) for path in paths}
            for key, paths in input_files(config).items()}


def _size(record):
    return f"{record['bytes']:,} bytes"


def differences(then, now):
    """What differs between two `fingerprint`s, one phrase per file, in the settings' order.

    A file whose content is the same counts as unchanged whatever its modification time (a
    copy, a `touch`); one whose size is the same but not its content is named as such.
    """
    phrases = []
    for key in [*then, *(key for key in now if key not in then)]:
        before, after = then.get(key, {}), now.get(key, {})
        for path in before:
            if path not in after:
                phrases.append(f"`{key}` file {path!r} is missing now")
            elif after[path]["sha256"] != before[path]["sha256"]:
                if after[path]["bytes"] == before[path]["bytes"]:
                    change = f"its content changed (same size, {_size(after[path])})"
                else:
                    change = (f"{_size(before[path])} then, {_size(after[path])} now, its "
                              "content changed")
                phrases.append(f"`{key}` file {path!r}: {change}")
        for path in after:
            if path not in before:
                phrases.append(f"`{key}` names a file it did not name then: {path!r}")
    return phrases
