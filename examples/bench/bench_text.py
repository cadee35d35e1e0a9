"""More examples: parameters without setup, and the decorator reached as perfeng.bench."""

import json

import perfeng

DOCUMENT = {"name": "perfeng", "values": list(range(100))}


@perfeng.bench(params={"n": [10, 1000]})
def join_numbers(n: int) -> None:
    # without setup the parameters come as keyword arguments
    "-".join(map(str, range(n)))


@perfeng.bench
def dump_json() -> None:
    json.dumps(DOCUMENT)
