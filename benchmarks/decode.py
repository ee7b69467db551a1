"""Decoder throughput: write many frames per protocol (the simulator's writers, in the protocol's default output
variant), feed them in random chunks, report bytes/s and frames/s.

A 9600-baud 8N1 scale sends 960 bytes/s, so bytes/s / 960 is how many scales one core keeps up with.
"""
import argparse
import random
import time

from canteen.scale_driver.protocols import Reading, get, names
from hardware_sim import frames

SCALE_BYTES_PER_SECOND = 960


def readings(count: int, rng: random.Random) -> list[Reading]:
    """A plate-return stream: runs of the same value (settling, then stable) with some overloads."""
    result: list[Reading] = []
    while len(result) < count:
        if rng.random() < 0.01:
            result.append(Reading(None, False, overload=True))
            continue
        grams, net = rng.randrange(-999, 99_999), rng.random() < 0.5
        run = rng.randrange(1, 20)
        result.extend(Reading(grams, index >= 3, net) for index in range(run))
    return result[:count]


def chunks(data: bytes, rng: random.Random) -> list[bytes]:
    parts, position = [], 0
    while position < len(data):
        size = rng.randrange(1, 128)
        parts.append(data[position:position + size])
        position += size
    return parts


def measure(name: str, count: int, rng: random.Random) -> tuple[int, int, float]:
    writer = frames.get(name).writer()
    written = [frame for frame in map(writer.frame, readings(count, rng)) if frame]  # b"": no frame for it
    data = b"".join(written)
    parts = chunks(data, rng)
    decoder = get(name).decoder()
    started = time.perf_counter()
    decoded = sum(len(decoder.feed(part)) for part in parts)
    elapsed = time.perf_counter() - started
    decoded += len(decoder.flush())
    if decoded != len(written) or decoder.bad_frames:
        raise SystemExit(f"{name}: decoded {decoded} of {len(written)} frames, {decoder.bad_frames} bad")
    return len(data), decoded, elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--frames", type=int, default=200_000, help="frames per protocol")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    print(f"{'protocol':<18} {'MB/s':>7} {'frames/s':>10} {'9600-baud scales':>17}")
    for name in names():
        size, decoded, elapsed = measure(name, args.frames, rng)
        rate = size / elapsed
        print(f"{name:<18} {rate / 1e6:>7.2f} {decoded / elapsed:>10,.0f} {rate / SCALE_BYTES_PER_SECOND:>17,.0f}")


if __name__ == "__main__":
    main()
