"""`vectors.train`: word2vec or fastText vectors on the user's own text, with gensim.

gensim is the library made for this (Word2Vec and FastText, with the Facebook `.bin` writer);
it is imported inside the functions, so `seqrecipes --help` stays light. The training itself is
`engine.vector_training.fit`, which `ner train --own-vectors` shares. The run holds no Keras
model, so TensorFlow is never imported either.
"""

import pathlib
import time

from seqrecipes import _validation
from seqrecipes.datasets import sample_path
from seqrecipes.datasets._files import expand_paths
from seqrecipes.recipes.engine import artifacts as _artifacts
from seqrecipes.recipes.engine import training as _training
from seqrecipes.recipes.engine.vector_training import (
    FASTTEXT_DEFAULTS, FIT_SETTINGS, MIN_COUNT, fit, import_gensim,
)
from seqrecipes.recipes.sentiment.data import SAMPLES
from seqrecipes.recipes.vectors import data as _data

RECIPE = "vectors"
DEFAULT_RUN_DIR = "runs/vectors"
ALGORITHMS = ("word2vec", "fasttext")
ARCHITECTURES = ("skipgram", "cbow")
VECTORS_FILE = "vectors.vec"  # word2vec text format with its header line = fastText's .vec
FASTTEXT_FILE = "vectors.bin"  # Facebook's fastText binary: subword n-grams included
FASTTEXT_SETTINGS = ("min_n", "max_n", "buckets")


@_training.releases_locks
def train(
    *,
    data=None,
    format="auto",
    text_column=None,
    token_column=None,
    delimiter=None,
    language="en",
    tokenizer=None,
    lowercase=None,
    algorithm="word2vec",
    architecture="skipgram",
    embedding_dim=100,
    window=5,
    min_count=MIN_COUNT,
    epochs=5,
    min_n=None,
    max_n=None,
    buckets=None,
    workers=1,
    run_dir=DEFAULT_RUN_DIR,
    overwrite=False,
    seed=1234,
    verbose=1,
):
    """Trains word vectors on unlabelled text and writes them where `--word-vectors` reads them.

    The run directory holds ``vectors.vec`` (word2vec text format with a header line, which is
    also fastText's ``.vec``: every word seen at least `min_count` times) and, with
    ``algorithm="fasttext"``, ``vectors.bin`` (Facebook's fastText format, written by gensim's
    `save_facebook_model`), whose character n-grams give any word a vector, words never seen
    included. ``config.json`` records the settings and the corpus (files, texts, tokens,
    vocabulary).

    Args:
        data: str, path or list of them (glob patterns too). Unlabelled text, read in order and
            concatenated: plain text (one text per line), CSV / TSV with a header, or CoNLL
            column files (see `format`); compressed files are recognised. None: the embedded
            sentiment sample of `language`. Defaults to None.
        format: str. "auto" (per file: from its name, else its first line; the summary says
            which), "text", "csv", "tsv" or "conll". Defaults to "auto".
        text_column: str or None. Tables: the text column. Defaults to the first of "text",
            "document", "sentence", "review" (as `sentiment train`); labels are never read.
        token_column: int or None. CoNLL files: the token column. Defaults to 0.
        delimiter: str or None. CoNLL files: the column separator. Defaults to whitespace.
        language: str. "en" or "ko": the sentiment recipe's tokenizers of that language.
            Defaults to "en".
        tokenizer: str or None. Text and tables: a sentiment tokenizer of `language` (en:
            "words"; ko: "syllables", "scripts", "morphemes", "morpheme_tags",
            "syllables_and_morphemes"), so the vectors' words are the sentiment vocabulary's.
            Defaults to the sentiment recipe's default for the language ("words";
            "syllables_and_morphemes", or "syllables" without kiwipiepy).
        lowercase: bool or None. CoNLL files: lower-case the tokens, as `ner train` does by
            default (its `--lowercase`). Defaults to True.
        algorithm: str. "word2vec" (a vector per word) or "fasttext" (also character
            n-grams: any word gets a vector). Defaults to "word2vec".
        architecture: str. "skipgram" (predict the context from the word; better for rare
            words, Mikolov et al. 2013) or "cbow" (the word from its context; faster).
            Defaults to "skipgram".
        embedding_dim: int. Dimensions per vector; give the same `--embedding-dim` to the
            recipe that reads them. Defaults to 100.
        window: int. Context words on each side. Defaults to 5.
        min_count: int. Words seen fewer times get no vector of their own (word2vec's and
            gensim's default, 5: a word seen once or twice gets a noisy vector). Defaults to 5.
        epochs: int. Passes over the corpus. Defaults to 5.
        min_n, max_n: int or None. fastText only: lengths of the character n-grams. Default to
            3 and 6.
        buckets: int or None. fastText only: hash buckets the character n-grams share, each
            a vector in `vectors.bin` (buckets x embedding_dim floats: 800 MB for fastText's
            2,000,000 at 100 dimensions). Fewer make the file smaller, with more n-grams
            sharing a vector. Defaults to 2,000,000.
        workers: int. gensim's worker threads. gensim gives the same vectors for the same seed
            only with one worker (threads interleave their updates), hence the default 1;
            more are faster and not reproducible. Defaults to 1.
        run_dir, overwrite, seed, verbose: as every recipe has them; the summary is printed
            whatever `verbose` is, and `verbose=2` adds gensim's log.

    Returns:
        A `VectorsResult`: the run directory, the path to pass to `--word-vectors`, the
        corpus and the figures.

    Raises:
        InvalidArgumentError: a bad setting, or one that no file's format reads.
        DataFileNotFoundError, DataError: a file is missing or unreadable (named, with the
            line), the files hold no tokens, or no word occurs `min_count` times.
        MissingDependencyError: gensim (or, for the morpheme tokenizers, kiwipiepy) is not
            installed.
        RunDirectoryError: as every recipe's `train`.
    """
    _validation.check_choice("format", format, _data.FORMATS)
    _validation.check_string("text_column", text_column, allow_none=True)
    if token_column is not None:
        _validation.check_int("token_column", token_column)
    _validation.check_string("delimiter", delimiter, allow_none=True)
    _validation.check_choice("language", language, _data.LANGUAGES)
    if tokenizer is not None:
        _validation.check_choice("tokenizer", tokenizer, _data.TOKENIZERS[language])
    if lowercase is not None:
        _validation.check_bool("lowercase", lowercase)
    _validation.check_choice("algorithm", algorithm, ALGORITHMS)
    _validation.check_choice("architecture", architecture, ARCHITECTURES)
    for name, value in (("embedding_dim", embedding_dim), ("window", window),
                        ("min_count", min_count), ("epochs", epochs), ("workers", workers)):
        _validation.check_positive_int(name, value)
    _validation.check_settings_used(
        "algorithm", algorithm, {"word2vec": (), "fasttext": FASTTEXT_SETTINGS},
        {"min_n": min_n, "max_n": max_n, "buckets": buckets})
    if algorithm == "fasttext":
        min_n, max_n, buckets = (
            _validation.check_positive_int(name, value)
            for name, value in _validation.with_defaults(
                {"min_n": min_n, "max_n": max_n, "buckets": buckets},
                FASTTEXT_DEFAULTS).items())
        _validation.check_conflict(
            min_n > max_n, f"`min_n` must not exceed `max_n`. Received: min_n={min_n!r} and "
            f"max_n={max_n!r}.")
    _validation.check_bool("overwrite", overwrite)
    _validation.check_seed("seed", seed)
    _validation.check_non_negative_int("verbose", verbose)
    _validation.check_conflict(
        verbose > 2, "`verbose` must be 0 (summary only), 1 (the same) or 2 (gensim's log "
        f"too). Received: verbose={verbose!r}.")
    paths = (expand_paths("data", data) if data is not None
             else [str(sample_path(SAMPLES[language]))])
    gensim = import_gensim()
    config = {
        "recipe": RECIPE, "data": paths, "format": format, "text_column": text_column,
        "token_column": token_column, "delimiter": delimiter, "language": language,
        "tokenizer": tokenizer, "lowercase": lowercase, "algorithm": algorithm,
        "architecture": architecture, "embedding_dim": embedding_dim, "window": window,
        "min_count": min_count, "epochs": epochs, "min_n": min_n, "max_n": max_n,
        "buckets": buckets, "workers": workers, "seed": seed, "overwrite": overwrite,
        "verbose": verbose,
    }
    _training.prepare_run_dir(run_dir, config, overwrite=overwrite, framework=False)

    started = time.perf_counter()
    corpus, note = _data.read_corpus(
        paths, format=format, text_column=text_column, token_column=token_column,
        delimiter=delimiter, language=language, tokenizer=tokenizer, lowercase=lowercase)
    config.update(tokenizer=corpus.tokenizer, lowercase=corpus.lowercase,
                  tokenizer_note=note, gensim=gensim.__version__)
    read_seconds = time.perf_counter() - started
    for source in corpus.sources:  # the summary is printed whatever `verbose` is
        print(f"read {source.summary()}")
    if note:
        print(f"note: {note}")

    files = ", ".join(source.path for source in corpus.sources)
    model, vocabulary, cut, train_seconds = fit(
        corpus.sentences, source=files, gensim=gensim,
        **{name: config[name] for name in FIT_SETTINGS}, verbose=verbose)
    config["corpus"] = {**corpus.describe(), "texts_cut": cut, "vocabulary": vocabulary,
                        "vectors": len(model.wv)}
    metrics = {"read_seconds": round(read_seconds, 2),
               "train_seconds": round(train_seconds, 2), "vectors": len(model.wv),
               "vocabulary": vocabulary, "tokens": corpus.num_tokens}
    files = {VECTORS_FILE: lambda path: model.wv.save_word2vec_format(str(path))}
    if algorithm == "fasttext":
        from gensim.models.fasttext import save_facebook_model

        files[FASTTEXT_FILE] = lambda path: save_facebook_model(model, str(path))
    path = _artifacts.write_run(run_dir, model=None, config=config, metrics=metrics,
                                files=files)
    word_vectors = path / (FASTTEXT_FILE if algorithm == "fasttext" else VECTORS_FILE)
    result = VectorsResult(path, word_vectors, config["corpus"], metrics)
    print(result.summary(config))
    return result


run = train  # every recipe's entry point has both names


class VectorsResult:
    """What `train` returns: `path` (the run), `word_vectors` (the file for `--word-vectors`),
    `corpus` (files, texts, tokens, vocabulary, vectors) and `metrics`."""

    def __init__(self, path, word_vectors, corpus, metrics):
        self.path, self.word_vectors = pathlib.Path(path), pathlib.Path(word_vectors)
        self.corpus, self.metrics = corpus, metrics

    def __repr__(self):
        return (f"VectorsResult(path={str(self.path)!r}, vectors={self.metrics['vectors']}, "
                f"tokens={self.metrics['tokens']})")

    def summary(self, config):
        """The lines `train` prints."""
        workers = config["workers"]
        corpus = self.corpus
        lines = [
            f"{config['algorithm']} {config['architecture']}: {config['embedding_dim']} "
            f"dimensions, window {config['window']}, min count {config['min_count']}, "
            f"{config['epochs']} epoch{'s' if config['epochs'] > 1 else ''}, "
            f"seed {config['seed']}, {workers} worker"
            + ("s (not reproducible: one worker is)" if workers > 1 else " (reproducible)"),
            f"corpus: {corpus['texts']:,} texts, {corpus['tokens']:,} tokens, "
            f"{corpus['vocabulary']:,} distinct; {corpus['vectors']:,} words seen at least "
            f"{config['min_count']} time{'s' if config['min_count'] > 1 else ''} have a vector"
            + (f"; {corpus['spaced_tokens_left_out']:,} tokens holding a space left out "
               "(the .vec format cannot hold them)" if corpus["spaced_tokens_left_out"] else "")
            + (f"; {corpus['texts_cut']:,} texts over 10,000 tokens cut into pieces (gensim "
               "reads 10,000 at a time)" if corpus["texts_cut"] else ""),
            f"read and tokenised in {self.metrics['read_seconds']:.1f} s, trained in "
            f"{self.metrics['train_seconds']:.1f} s",
            f"run written to {self.path}",
            f"use the vectors with: --word-vectors {self.word_vectors} --embedding-dim "
            f"{config['embedding_dim']}",
        ]
        if config["algorithm"] == "fasttext":
            size = self.word_vectors.stat().st_size / 1e6
            lines.append(f"  ({self.word_vectors.name}, {size:,.0f} MB: any word gets a vector "
                         f"from its character n-grams, {config['buckets']:,} buckets; "
                         f"{VECTORS_FILE} beside it holds the {corpus['vectors']:,} words)")
        return "\n".join(lines)
