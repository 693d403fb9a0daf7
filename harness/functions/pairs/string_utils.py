"""The string and number pairs (``harness.functions.reference.string_utils``): base36_encode, format_float,
truncate_long_string.

Their workloads are in-memory batches of 1000 calls built from the seed: hex digests, the CPU and memory
values SkyPilot formats, and the commands, errors and zone lists it truncates.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Sequence

from harness.functions.pairs.declaration import PairDeclaration, builtin_pair
from harness.functions.pairs.workload_types import (
    STRING_BATCH_LENGTH,
    Args,
    Workload,
    batch_rng,
    batch_workload,
)


def _md5_hex_batch(seed: int) -> tuple[Args, ...]:
    rng = batch_rng(seed, "md5-hex")
    names = (f"sky-{rng.getrandbits(32):08x}-{index}" for index in range(STRING_BATCH_LENGTH))
    return tuple((hashlib.md5(name.encode()).hexdigest(),) for name in names)


def _uuid_hex_batch(seed: int) -> tuple[Args, ...]:
    rng = batch_rng(seed, "uuid-hex")
    # uuid4().hex: 128 random bits with the version and variant nibbles set.
    values = (
        (rng.getrandbits(128) & ~(0xF << 76) | (0x4 << 76)) & ~(0x3 << 62) | (0x2 << 62)
        for _ in range(STRING_BATCH_LENGTH)
    )
    return tuple((f"{value:032x}",) for value in values)


# The ints (CPU counts) and the whole floats (memory sizes in GiB) of the format_float workloads.
_FORMAT_FLOAT_INTS = (1, 2, 4, 8, 16, 32, 64, 96, 128, 256, 512, 1024)
_FORMAT_FLOAT_WHOLES = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096)


def _format_float_values(seed: int) -> list[float | int]:
    """CPU counts and memory sizes as SkyPilot formats them: ints, whole floats, .5 values, fractions."""
    rng = batch_rng(seed, "format-float")
    values: list[float | int] = []
    for index in range(STRING_BATCH_LENGTH):
        kind = index % 4
        if kind == 0:
            values.append(rng.choice(_FORMAT_FLOAT_INTS))
        elif kind == 1:
            values.append(float(rng.choice(_FORMAT_FLOAT_WHOLES)))
        elif kind == 2:
            values.append(rng.randrange(0, 1024) + 0.5)
        else:
            values.append(round(rng.uniform(0.1, 4096), rng.randrange(1, 4)))
    return values


_COMMAND_PARTS = (
    "python train.py",
    "torchrun --nproc_per_node=8 train.py",
    "bash setup.sh",
    "--epochs 10",
    "--lr 3e-4",
    "--data-dir /data/imagenet",
    "--output /checkpoints/run-{n}",
    "&& echo done",
    "pip install -r requirements.txt",
    "--model meta-llama/Llama-3-8B",
)
_ERROR_PARTS = (
    "sky.exceptions.ResourcesUnavailableError: Failed to acquire resources in {zone}",
    "botocore.exceptions.ClientError: An error occurred (InsufficientInstanceCapacity)",
    "Command 'rsync -Pavz' failed with return code {n}",
    "ssh: connect to host 10.0.{n}.{n} port 22: Connection timed out",
    "Quota 'NVIDIA_A100_GPUS' exceeded. Limit: {n}.0 in region {zone}.",
)
_ZONES = (
    "us-east-1",
    "us-east-1a",
    "us-central1-a",
    "europe-west4-a",
    "asia-northeast1-b",
    "ap-southeast-2",
    "northamerica-northeast2-c",
    "us-east-1a,us-east-1b,us-east-1c,us-east-1d",
    "me-central1-a, me-central1-b",
)


def _joined(rng: random.Random, parts: Sequence[str], count: int) -> str:
    text = " ".join(rng.choice(parts) for _ in range(count))
    return text.format(n=rng.randrange(1, 256), zone=rng.choice(_ZONES))


def _truncate_batch(seed: int, kind: str) -> tuple[Args, ...]:
    rng = batch_rng(seed, f"truncate-{kind}")
    batch: list[Args] = []
    for _ in range(STRING_BATCH_LENGTH):
        if kind == "commands":
            batch.append((_joined(rng, _COMMAND_PARTS, rng.randrange(1, 20))[:500], 25))
        elif kind == "errors":
            batch.append((_joined(rng, _ERROR_PARTS, rng.randrange(1, 5))[:500], 60))
        else:
            batch.append((rng.choice(_ZONES), 25, True))
    return tuple(batch)


def _batch(
    function: str, workload_id: str, description: str, make: Callable[[int], tuple[Args, ...]]
) -> Workload:
    return batch_workload(
        function, workload_id, f"{description}; a batch of {STRING_BATCH_LENGTH} calls, time per call", make
    )


def _format_float_ints(seed: int) -> list[float | int]:
    """Only the ints of the mix (its first kind), from their own random source."""
    rng = batch_rng(seed, "format-float-ints")
    return [rng.choice(_FORMAT_FLOAT_INTS) for _ in range(STRING_BATCH_LENGTH)]


def _format_float_wholes(seed: int) -> list[float | int]:
    """Only the whole floats of the mix (its second kind), from their own random source."""
    rng = batch_rng(seed, "format-float-wholes")
    return [float(rng.choice(_FORMAT_FLOAT_WHOLES)) for _ in range(STRING_BATCH_LENGTH)]


def _format_float_batch(
    precision: int, values: Callable[[int], list[float | int]] = _format_float_values
) -> Callable[[int], tuple[Args, ...]]:
    return lambda seed: tuple((value, precision) for value in values(seed))


def _truncate(kind: str) -> Callable[[int], tuple[Args, ...]]:
    return lambda seed: _truncate_batch(seed, kind)


PAIRS: tuple[PairDeclaration, ...] = (
    builtin_pair(
        "base36_encode",
        (
            _batch("base36_encode", "md5-hex", "md5 hexdigests (32 hex digits)", _md5_hex_batch),
            _batch("base36_encode", "uuid-hex", "uuid4().hex strings (32 hex digits)", _uuid_hex_batch),
        ),
        examples=(("0",), ("ff",), ("FF",), ("0x1f",), ("5d41402abc4b2a76b9719d911017c592",), ("",), ("-1",)),
    ),
    builtin_pair(
        "format_float",
        (
            _batch(
                "format_float",
                "mixed-p1",
                "CPU/memory values (ints, whole floats, .5 values, fractions), precision 1",
                _format_float_batch(1),
            ),
            _batch(
                "format_float",
                "mixed-p0",
                "the same values at precision 0 (sky show-gpus tables)",
                _format_float_batch(0),
            ),
            _batch(
                "format_float",
                "ints-p1",
                "only the ints of the mix (CPU counts, formatted with str()), precision 1",
                _format_float_batch(1, _format_float_ints),
            ),
            _batch(
                "format_float",
                "whole-p0",
                "only the whole floats of the mix (memory sizes in GiB), precision 0",
                _format_float_batch(0, _format_float_wholes),
            ),
        ),
        examples=((0.5, 1), (2.0, 1), (1234567.0, 1), (1.25, 0), (16, 1), (0.125, 2)),
    ),
    builtin_pair(
        "truncate_long_string",
        (
            _batch(
                "truncate_long_string",
                "commands-25",
                "shell commands of 10-500 characters at COMMAND_TRUNC_LENGTH=25",
                _truncate("commands"),
            ),
            _batch(
                "truncate_long_string",
                "errors-60",
                "error messages at ERROR_MESSAGE_TRUNC_LENGTH=60",
                _truncate("errors"),
            ),
            _batch(
                "truncate_long_string",
                "regions-middle-25",
                "regions and zone lists, truncate_middle=True at 25",
                _truncate("regions"),
            ),
        ),
        examples=(
            ("short", 35),
            ("a fairly long command line that goes on", 10),
            ("us-east-1a,us-east-1b,us-east-1c", 12, True),
            ("", 0),
        ),
    ),
)
