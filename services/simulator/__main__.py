"""`python -m services.simulator`: the simulated WeChat world alone (page + API, no bot behind it).

Useful to work on the page or the terminal chat; `make demo` runs the world inside the gateway instead, so that the
bot answers.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging

from services.simulator.world import SimulatorWorld


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8700)
    parser.add_argument("--bot-id", default="qunbot")
    parser.add_argument("--bot-name", default="QunBot")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    world = SimulatorWorld(args.bot_id, args.bot_name)
    print(f"simulator page: http://{args.host}:{args.port}/  (Ctrl-C stops)", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(world.serve(args.host, args.port))


if __name__ == "__main__":
    main()
