"""`Child`: a bench's child process, capped in wall-clock time, with its lines and CPU seconds.

Used by `bench/peers_ner.py` (spaCy and the recipe) and `bench/backends.py` (the recipes on
each Keras backend): a command runs with this checkout's seqrecipes on its path, its output
is echoed with a prefix and kept with the second each line came out, and its wall and CPU
seconds (its own and its children's) are measured.
"""

import os
import pathlib
import re
import resource
import shlex
import signal
import subprocess
import threading
import time

REPO = pathlib.Path(__file__).resolve().parents[1]
ANSI = re.compile(r"\x1b\[[0-9;]*m")
SIGINT_GRACE = 300  # seconds a capped child may take to save (spaCy) or stop (recipe)


def _default_sigint():
    signal.signal(signal.SIGINT, signal.SIG_DFL)


class Child:
    """A child process with a wall-clock cap: its lines echoed and kept with their times."""

    def __init__(self, command, *, prefix, cap_seconds):
        self.command, self.prefix, self.cap_seconds = command, prefix, cap_seconds
        self.lines = []  # (seconds since start, line)

    def run(self):
        print("$ " + shlex.join(self.command), flush=True)
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        # The child imports this checkout's seqrecipes, whatever is installed; it writes each
        # line at once (the dev curve's times are those of spaCy's lines), without colours.
        path = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
        environment = {**os.environ, "PYTHONPATH": path, "PYTHONUNBUFFERED": "1",
                       "ANSI_COLORS_DISABLED": "1"}
        # SIGINT is how a cap stops the child; a shell that starts a job in the background
        # (`cmd &`, nohup) ignores SIGINT for it, Python then never installs its handler, and
        # the child would train on uncapped (seen here): restore the default before the exec.
        process = subprocess.Popen(self.command, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True, bufsize=1,
                                   env=environment, preexec_fn=_default_sigint)
        reader = threading.Thread(target=self._read, args=(process, start), daemon=True)
        reader.start()
        self.capped = False
        try:
            process.wait(timeout=self.cap_seconds)
        except subprocess.TimeoutExpired:
            self.capped = True
            print(f"{self.prefix} capped after {self.cap_seconds / 60:g} min: SIGINT",
                  flush=True)
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=SIGINT_GRACE)
            except subprocess.TimeoutExpired:  # never leave it running without its reader
                print(f"{self.prefix} still running {SIGINT_GRACE} s after SIGINT: killed",
                      flush=True)
                process.kill()
                process.wait()
        reader.join()
        self.seconds = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        self.cpu_seconds = (after.ru_utime - before.ru_utime) + (after.ru_stime
                                                                 - before.ru_stime)
        self.returncode = process.returncode
        return self

    def _read(self, process, start):
        for line in process.stdout:
            line = ANSI.sub("", line)  # wasabi's bold headings ignore ANSI_COLORS_DISABLED
            self.lines.append((time.perf_counter() - start, line.rstrip("\n")))
            print(f"{self.prefix} {line}", end="", flush=True)
