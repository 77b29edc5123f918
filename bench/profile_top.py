"""Inclusive and self shares of a py-spy raw (folded) profile: `profile_top.py FILE [REGEX]`.

Line numbers are dropped so a function counts once; REGEX keeps only matching frames in the
inclusive list (the self list is always the top 25).
"""

import collections
import re
import signal
import sys
from pathlib import Path


def _frame(text: str) -> str:
    return re.sub(r":\d+\)", ")", text)


def main(path: str, pattern: str | None) -> None:
    inclusive: collections.Counter[str] = collections.Counter()
    own: collections.Counter[str] = collections.Counter()
    total = 0
    for line in Path(path).read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        n = int(count)
        total += n
        frames = [_frame(frame) for frame in stack.split(";")]
        for frame in set(frames):
            inclusive[frame] += n
        own[frames[-1]] += n
    print(f"{total} samples\n")
    for frame, n in inclusive.most_common(400):
        if not pattern or re.search(pattern, frame):
            print(f"{100 * n / total:5.1f}% {frame[:160]}")
    print("\nself:")
    for frame, n in own.most_common(25):
        print(f"{100 * n / total:5.1f}% {frame[:160]}")


if __name__ == "__main__":
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # `| head` ends the listing quietly
    main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None)
