"""A Modbus peer for package testenv: pymodbus 3.0.0 (Debian python3-pymodbus).

Run by /usr/bin/python3 (only that interpreter sees the Debian package):

    pymodbus_server.py CONFIG.json

CONFIG.json:
    {"mode": "tcp"}                              listen on 127.0.0.1, a port the kernel picks
    {"mode": "rtu", "port": PTY, "baud": 9600}   RTU framing on a serial port
    plus "slaves": [{"id": 1, "hr": [...], "ir": [...], "co": [...], "di": [...]}]
    Every block starts at address 0 (zero_mode=True).

Protocol on stdin/stdout, one line each way:
    once serving         ->  "ready 127.0.0.1:PORT" (tcp) or "ready PTY" (rtu)
    "kill N"             ->  "ok"   unit N stops answering (no reply at all)
    "revive N"           ->  "ok"   unit N answers again
    "count"              ->  {"1": 3, "2": 0}   requests answered per unit
    anything else        ->  "error ..."
The script exits when stdin closes, so it never outlives the test binary.
"""

import asyncio
import json
import logging
import sys

from pymodbus.datastore import (
    ModbusSequentialDataBlock,
    ModbusServerContext,
    ModbusSlaveContext,
)
from pymodbus.exceptions import NoSuchSlaveException
from pymodbus.framer.rtu_framer import ModbusRtuFramer
from pymodbus.framer.socket_framer import ModbusSocketFramer
from pymodbus.server import StartAsyncSerialServer, StartAsyncTcpServer


def block(values):
    """Return a data block holding values from address 0 (may be empty)."""
    b = ModbusSequentialDataBlock(0, values or [0])  # it reads values[0]
    if not values:
        b.values = []  # every read is then exception 2, illegal address
    return b


class Context(ModbusServerContext):
    """A server context whose units can be killed and revived at run time.

    A killed unit stays in slaves(): each connection handler takes a copy of
    slaves() *before* it waits for the next frame and drops frames for units
    not in that copy, so deleting a unit and adding it back would lose the
    first request after the revival. Instead __getitem__ raises
    NoSuchSlaveException for a killed unit, and the server, started with
    ignore_missing_slaves=True, sends nothing back.

    __getitem__ is called exactly once per request the handler executes,
    which makes it the place to count requests per unit.
    """

    def __init__(self, slaves):
        super().__init__(slaves=slaves, single=False)
        self.dead = set()
        self.served = {uid: 0 for uid in slaves}

    def __getitem__(self, uid):
        if uid in self.dead:
            raise NoSuchSlaveException(f"unit {uid} is killed")
        ctx = super().__getitem__(uid)
        self.served[uid] += 1
        return ctx


def command(ctx, line):
    """Execute one control command and return the reply line."""
    words = line.split()
    if words == ["count"]:
        return json.dumps({str(k): v for k, v in ctx.served.items()})
    if len(words) == 2 and words[0] in ("kill", "revive") and words[1].isdigit():
        uid = int(words[1])
        if uid not in ctx.served:
            return f"error unknown unit {uid}"
        if words[0] == "kill":
            ctx.dead.add(uid)
        else:
            ctx.dead.discard(uid)
        return "ok"
    tables = {"co": 1, "di": 2, "hr": 3, "ir": 4}
    if (
        len(words) == 5
        and words[0] == "set"
        and words[2] in tables
        and all(w.isdigit() for w in (words[1], words[3], words[4]))
    ):
        uid = int(words[1])
        if uid not in ctx.served:
            return f"error unknown unit {uid}"
        # Straight to the store: a change is not a request to count.
        slave = super(Context, ctx).__getitem__(uid)
        slave.setValues(tables[words[2]], int(words[3]), [int(words[4])])
        return "ok"
    return f"error bad command {line!r}"


async def main(config_path):
    with open(config_path, encoding="utf-8") as f:
        cfg = json.load(f)
    slaves = {}
    for s in cfg["slaves"]:
        slaves[s["id"]] = ModbusSlaveContext(
            hr=block(s.get("hr")),
            ir=block(s.get("ir")),
            co=block(s.get("co")),
            di=block(s.get("di")),
            zero_mode=True,  # the default (False) shifts every address by one
        )
    ctx = Context(slaves)

    if cfg["mode"] in ("tcp", "rtu_over_tcp"):
        # rtu_over_tcp is a serial server: RTU frames, CRC and all, on TCP.
        framer = ModbusSocketFramer if cfg["mode"] == "tcp" else ModbusRtuFramer
        server = await StartAsyncTcpServer(
            context=ctx,
            address=("127.0.0.1", cfg.get("tcp_port", 0)),
            framer=framer,
            allow_reuse_address=True,
            ignore_missing_slaves=True,
            defer_start=True,
        )
        serving = asyncio.create_task(server.serve_forever())
        await asyncio.wait(
            [server.serving, serving], return_when=asyncio.FIRST_COMPLETED
        )
        if serving.done():
            serving.result()  # raises what went wrong
        host, port = server.server.sockets[0].getsockname()[:2]
        ready = f"{host}:{port}"
    else:
        server = await StartAsyncSerialServer(
            context=ctx,
            framer=ModbusRtuFramer,  # the serial default is ASCII
            port=cfg["port"],
            baudrate=cfg["baud"],
            bytesize=8,
            parity="N",
            stopbits=1,
            timeout=1,
            ignore_missing_slaves=True,
            defer_start=True,
        )
        await server.start()
        if server.transport is None:  # start() logs a failure and returns
            raise SystemExit(f"cannot open serial port {cfg['port']}")
        ready = cfg["port"]

    loop = asyncio.get_running_loop()
    stdin = asyncio.StreamReader()
    await loop.connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(stdin), sys.stdin
    )
    print("ready", ready, flush=True)
    while True:
        line = await stdin.readline()
        if not line:
            break  # the test binary is gone
        print(command(ctx, line.decode().strip()), flush=True)
    # asyncio.run cancels the server tasks; the exit closes port and sockets.


if __name__ == "__main__":
    # Importing pymodbus already ran logging.basicConfig (stderr, WARNING,
    # its own format) in pymodbus.constants; only raise the level.
    logging.getLogger().setLevel(logging.INFO)
    asyncio.run(main(sys.argv[1]))
