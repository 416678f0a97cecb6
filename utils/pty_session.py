#!/usr/bin/env python3
"""Drives a program through a pseudo-terminal as a person types at it.

    pty_session.py [--raw] KEYS_FILE -- COMMAND [ARGS...]

Each line of KEYS_FILE is typed followed by Enter, after the program has
shown a prompt ('>>> ' or '... ') and gone quiet. In a line, <TAB> presses
Tab (then waits for the terminal to go quiet), <C-D> sends Ctrl-D, <C-C>
Ctrl-C, <C-U> Ctrl-U (erase the line), <UP> the up arrow, and <NOENTER>
at the end types the line without Enter. Lines starting with '#' are not typed. The whole transcript, with
terminal escape sequences and carriage returns removed, is written to
standard output for FileCheck (with --raw, as the terminal got it); the
exit status is the program's.
"""
import os
import pty
import re
import select
import sys
import time

KEYS = {"<TAB>": b"\t", "<C-D>": b"\x04", "<C-C>": b"\x03", "<C-U>": b"\x15",
        "<UP>": b"\x1b[A"}
PROMPTS = (b">>> ", b"... ")
TIMEOUT = 60.0  # seconds a step may wait for the program (a slow machine)
QUIET = 0.3     # seconds without output that count as "done"


def read_until(fd, out, done, timeout=TIMEOUT):
    """Reads into `out` until done(out) holds and QUIET passes in silence,
    or the program exits (returns False)."""
    deadline = time.monotonic() + timeout
    last = time.monotonic()
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.05)
        if ready:
            try:
                data = os.read(fd, 65536)
            except OSError:
                return False
            if not data:
                return False
            out.extend(data)
            last = time.monotonic()
        elif done(out) and time.monotonic() - last >= QUIET:
            return True
    return True


def clean(transcript):
    text = transcript.decode("utf-8", "replace")
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text)  # CSI sequences
    text = re.sub(r"\x1b[()][A-Z0-9]|\x1b[=>78]", "", text)
    text = text.replace("\x07", "").replace("\r", "")
    return text


def main():
    args = sys.argv[1:]
    raw = args[:1] == ["--raw"]
    if raw:
        args = args[1:]
    if len(args) < 3 or args[1] != "--":
        sys.exit(__doc__)
    with open(args[0]) as f:
        steps = [l.rstrip("\n") for l in f if not l.startswith("#")]
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp(args[2], args[2:])
    out = bytearray()
    prompt_seen = lambda o: o.endswith(PROMPTS)
    alive = read_until(fd, out, prompt_seen)
    for step in steps:
        if not alive:
            break
        enter = not step.endswith("<NOENTER>")
        if not enter:
            step = step[: -len("<NOENTER>")]
        parts = re.split("(" + "|".join(KEYS) + ")", step)
        for part in parts:
            if part in KEYS:
                os.write(fd, KEYS[part])
                if part == "<TAB>":
                    alive = read_until(fd, out, lambda o: True)
            elif part:
                os.write(fd, part.encode())
        if enter:
            os.write(fd, b"\r")
            start = len(out)
            alive = read_until(fd, out, lambda o: len(o) > start and prompt_seen(o))
        elif not alive:
            break
    # Let the program finish (after <C-D> or :quit), then take its status.
    read_until(fd, out, lambda o: False, timeout=10.0)
    done, status = os.waitpid(pid, os.WNOHANG)
    if done == 0:
        os.kill(pid, 9)
        _, status = os.waitpid(pid, 0)
    if raw:
        sys.stdout.buffer.write(bytes(out))
    else:
        sys.stdout.write(clean(bytes(out)))
    sys.exit(os.waitstatus_to_exitcode(status))


if __name__ == "__main__":
    main()
