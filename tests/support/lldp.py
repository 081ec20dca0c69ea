"""A switch's LLDP announcements, as raw Ethernet frames (IEEE 802.1AB): chassis ID (MAC subtype), port ID
(interface-name subtype), TTL and system name, sent on an interface once a second until killed.

    python3 lldp.py IFACE CHASSIS_MAC PORT SYSTEM_NAME      (run inside the test's network namespace)"""

from __future__ import annotations

import contextlib
import socket
import struct
import sys
import time

LLDP_MULTICAST = bytes.fromhex("0180c200000e")  # nearest bridge: never forwarded by bridges
ETHERTYPE_LLDP = 0x88CC
SOURCE = bytes.fromhex("020000e2e0fe")


def tlv(kind: int, value: bytes) -> bytes:
    return struct.pack("!H", (kind << 9) | len(value)) + value


def frame(chassis_mac: str, port: str, system_name: str) -> bytes:
    body = (
        tlv(1, b"\x04" + bytes.fromhex(chassis_mac.replace(":", "")))  # chassis ID, subtype 4: MAC address
        + tlv(2, b"\x05" + port.encode())  # port ID, subtype 5: interface name
        + tlv(3, struct.pack("!H", 120))  # TTL
        + tlv(5, system_name.encode())  # system name
        + tlv(0, b"")  # end of LLDPDU
    )
    return LLDP_MULTICAST + SOURCE + struct.pack("!H", ETHERTYPE_LLDP) + body


def main(argv: list[str]) -> None:
    interface, chassis_mac, port, system_name = argv
    packet = frame(chassis_mac, port, system_name)
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    sock.bind((interface, 0))
    while True:
        with contextlib.suppress(OSError):  # no VM on the tap yet: nothing to send to
            sock.send(packet)
        time.sleep(1)


if __name__ == "__main__":
    main(sys.argv[1:])
