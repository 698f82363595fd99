#!/usr/bin/env python3
"""Write one million distinct, seeded, public-looking IPv4 addresses as a trail list.

Usage: million_ips.py OUTPUT_DIR  (writes OUTPUT_DIR/generated/million.txt)

The store benchmark compiles this list with the default trail set, to measure the store and
the sensor with about 2.6 million indicators. First octets 10, 100, 127, 169, 172, 192, 198
and 203 are skipped, so no private, loopback, link-local or documentation range is listed.
"""

import os
import random
import sys


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit("usage: million_ips.py OUTPUT_DIR")
    folder = os.path.join(sys.argv[1], "generated")
    os.makedirs(folder, exist_ok=True)

    rng = random.Random(42)
    seen = set()
    with open(os.path.join(folder, "million.txt"), "w") as out:
        out.write("# one million generated IPv4 addresses for the store benchmark\n")
        while len(seen) < 1_000_000:
            first = rng.randrange(1, 224)
            if first in (10, 100, 127, 169, 172, 192, 198, 203):
                continue
            address = (first << 24) | rng.randrange(1 << 24)
            if address in seen:
                continue
            seen.add(address)
            out.write(f"{first}.{(address >> 16) & 255}.{(address >> 8) & 255}.{address & 255}\n")


if __name__ == "__main__":
    main()
