"""Refusing a layer whose weights cannot fit in this machine's memory, before they exist.

Keras allocates a layer's weights when the layer is built; a size no machine holds (`units`
1,000,000: an LSTM of 4 * 10^12 weights) then fails with TensorFlow's ResourceExhaustedError
(or the process is killed) after it has taken what memory there was. The two layers whose size
grows with a setting squared or with a vocabulary, the recurrent layers (`recurrent_layer`,
`build_language_model`) and the embeddings (`Embedding`), check their count here when they are
made (the closed-form formulas of `models.params`: `recurrent.check_recurrent_fits`; V*d for
an embedding), so every builder and every recipe
refuses such a size at once with the figure. The check is per layer and a lower bound (a
recurrent layer's input width is taken as 0 where it is not known yet): it never refuses a
model that would fit, and it catches the sizes that are off by orders of magnitude.
"""

import os

from seqrecipes.errors import InvalidArgumentError

# A float32 weight, its gradient and Adam's two moments (the optimizer every recipe uses).
BYTES_PER_PARAMETER = 16


def available_memory():
    """Bytes of memory this process can still take, or None when the system does not say.

    Linux's MemAvailable (free memory plus what the kernel can reclaim), lowered to a cgroup
    (container) limit where one is set; elsewhere `os.sysconf`'s available pages.
    """
    available = None
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    available = int(line.split()[1]) * 1024
                    break
    except (OSError, ValueError, IndexError):
        pass
    if available is None:
        try:
            available = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError, AttributeError):
            return None
    try:  # cgroup v2: "max" or a number of bytes
        with open("/sys/fs/cgroup/memory.max") as limit, \
                open("/sys/fs/cgroup/memory.current") as used:
            cap = limit.read().strip()
            if cap.isdigit():
                available = min(available, int(cap) - int(used.read().strip()))
    except (OSError, ValueError):
        pass
    return max(available, 0)


def _gigabytes(size):
    return f"{size / 1e9:,.1f} GB" if size >= 1e8 else f"{size / 1e6:,.0f} MB"


def check_parameters_fit(count, described, *, fix):
    """Raises `InvalidArgumentError` when `count` parameters cannot be trained in the memory
    available now, naming the figure.

    Args:
        count: int. The number of parameters.
        described: str. What holds them, in the caller's words (e.g. "units=1000000").
        fix: str. What to change.
    """
    available = available_memory()
    needed = count * BYTES_PER_PARAMETER
    if available is None or needed <= available:
        return
    raise InvalidArgumentError(
        f"{described} needs about {_gigabytes(needed)} for its {count:,} parameters and their "
        f"optimizer state ({BYTES_PER_PARAMETER} bytes each: the weight, its gradient and "
        f"Adam's two moments); this machine has {_gigabytes(available)} available. {fix}"
    )
