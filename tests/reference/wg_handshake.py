#!/usr/bin/env python3
"""An independent WireGuard handshake, written straight from the whitepaper
(§5.4.2 to §5.4.7), used to produce the known answers that wasm/src/noise.rs
and wasm/src/cookie.rs test against.

It shares no code with the Rust core: BLAKE2s comes from hashlib, X25519 and
ChaCha20-Poly1305 from python3-cryptography (Debian package), HChaCha20 for
XChaCha20-Poly1305 is written here from draft-irtf-cfrg-xchacha.

    python3 tests/reference/wg_handshake.py          # print the known answers
    python3 tests/reference/wg_handshake.py --rust   # the same, as Rust constants

    # Prove these bytes against wireguard-go (needs root, wireguard-go, ip):
    python3 tests/reference/wg_handshake.py --interop

--interop starts wireguard-go in a network namespace this script creates,
configures it with the responder's key, the PSK and the initiator as its peer,
and, inside that namespace, sends the fixed initiation to it over loopback.
It checks the response (type, receiver index, MAC1), finishes the handshake
and sends a keepalive sealed with the derived key, which wireguard-go counts
only if it decrypts (`wg show dump`, received bytes). The namespace, the
process and temporary files are removed at the end, also on failure.
"""

import hashlib
import hmac as _hmac  # compare_digest, and to check HMAC below
import os
import socket
import struct
import subprocess
import sys
import tempfile
import time

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives import serialization

CONSTRUCTION = b"Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s"
IDENTIFIER = b"WireGuard v1 zx2c4 Jason@zx2c4.com"
LABEL_MAC1 = b"mac1----"
LABEL_COOKIE = b"cookie--"


# ---- primitives (whitepaper §5.4) ----

def HASH(*parts):
    return hashlib.blake2s(b"".join(parts)).digest()


def MAC(key, *parts):
    return hashlib.blake2s(b"".join(parts), key=key, digest_size=16).digest()


def HMAC(key, *parts):
    # HMAC over BLAKE2s with its 64-byte block, built by hand.
    block = 64
    key = key + b"\0" * (block - len(key))
    inner = hashlib.blake2s(bytes(b ^ 0x36 for b in key) + b"".join(parts)).digest()
    return hashlib.blake2s(bytes(b ^ 0x5C for b in key) + inner).digest()


def KDF(n, key, data):
    t0 = HMAC(key, data)
    out, prev = [], b""
    for i in range(1, n + 1):
        prev = HMAC(t0, prev, bytes([i]))
        out.append(prev)
    return out


def DH(private, public):
    k = X25519PrivateKey.from_private_bytes(private)
    return k.exchange(X25519PublicKey.from_public_bytes(public))


def DH_PUBLIC(private):
    return X25519PrivateKey.from_private_bytes(private).public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def AEAD(key, counter, plain, aad):
    nonce = b"\0" * 4 + struct.pack("<Q", counter)
    return ChaCha20Poly1305(key).encrypt(nonce, plain, aad)


def AEAD_OPEN(key, counter, sealed, aad):
    nonce = b"\0" * 4 + struct.pack("<Q", counter)
    return ChaCha20Poly1305(key).decrypt(nonce, sealed, aad)


def _rotl(v, c):
    return ((v << c) & 0xFFFFFFFF) | (v >> (32 - c))


def HCHACHA20(key, nonce16):
    s = [0x61707865, 0x3320646E, 0x79622D32, 0x6B206574]
    s += list(struct.unpack("<8I", key)) + list(struct.unpack("<4I", nonce16))

    def qr(a, b, c, d):
        s[a] = (s[a] + s[b]) & 0xFFFFFFFF; s[d] = _rotl(s[d] ^ s[a], 16)
        s[c] = (s[c] + s[d]) & 0xFFFFFFFF; s[b] = _rotl(s[b] ^ s[c], 12)
        s[a] = (s[a] + s[b]) & 0xFFFFFFFF; s[d] = _rotl(s[d] ^ s[a], 8)
        s[c] = (s[c] + s[d]) & 0xFFFFFFFF; s[b] = _rotl(s[b] ^ s[c], 7)

    for _ in range(10):
        qr(0, 4, 8, 12); qr(1, 5, 9, 13); qr(2, 6, 10, 14); qr(3, 7, 11, 15)
        qr(0, 5, 10, 15); qr(1, 6, 11, 12); qr(2, 7, 8, 13); qr(3, 4, 9, 14)
    return struct.pack("<8I", *(s[0:4] + s[12:16]))


def XAEAD(key, nonce24, plain, aad):
    sub = HCHACHA20(key, nonce24[:16])
    return ChaCha20Poly1305(sub).encrypt(b"\0" * 4 + nonce24[16:], plain, aad)


# ---- the handshake ----

def initial_chain(responder_public):
    c = HASH(CONSTRUCTION)
    h = HASH(c, IDENTIFIER)
    h = HASH(h, responder_public)
    return c, h


def create_initiation(s_priv_i, s_pub_r, e_priv_i, sender, timestamp):
    c, h = initial_chain(s_pub_r)
    e_pub_i = DH_PUBLIC(e_priv_i)
    c = KDF(1, c, e_pub_i)[0]
    h = HASH(h, e_pub_i)
    c, k = KDF(2, c, DH(e_priv_i, s_pub_r))
    enc_static = AEAD(k, 0, DH_PUBLIC(s_priv_i), h)
    h = HASH(h, enc_static)
    c, k = KDF(2, c, DH(s_priv_i, s_pub_r))
    enc_time = AEAD(k, 0, timestamp, h)
    h = HASH(h, enc_time)
    body = struct.pack("<II", 1, sender) + e_pub_i + enc_static + enc_time
    mac1 = MAC(HASH(LABEL_MAC1, s_pub_r), body)
    return body + mac1 + b"\0" * 16, (c, h, e_priv_i)


def create_response(init_msg, s_priv_r, s_pub_i, psk, e_priv_r, sender):
    # The responder's view of the initiation (§5.4.2, mirrored).
    s_pub_r = DH_PUBLIC(s_priv_r)
    c, h = initial_chain(s_pub_r)
    e_pub_i = init_msg[8:40]
    c = KDF(1, c, e_pub_i)[0]
    h = HASH(h, e_pub_i)
    c, k = KDF(2, c, DH(s_priv_r, e_pub_i))
    assert AEAD_OPEN(k, 0, init_msg[40:88], h) == s_pub_i
    h = HASH(h, init_msg[40:88])
    c, k = KDF(2, c, DH(s_priv_r, s_pub_i))
    AEAD_OPEN(k, 0, init_msg[88:116], h)
    h = HASH(h, init_msg[88:116])
    receiver = struct.unpack("<I", init_msg[4:8])[0]
    # §5.4.3
    e_pub_r = DH_PUBLIC(e_priv_r)
    c = KDF(1, c, e_pub_r)[0]
    h = HASH(h, e_pub_r)
    c = KDF(1, c, DH(e_priv_r, e_pub_i))[0]
    c = KDF(1, c, DH(e_priv_r, s_pub_i))[0]
    c, tau, k = KDF(3, c, psk)
    h = HASH(h, tau)
    empty = AEAD(k, 0, b"", h)
    h = HASH(h, empty)
    body = struct.pack("<III", 2, sender, receiver) + e_pub_r + empty
    mac1 = MAC(HASH(LABEL_MAC1, s_pub_i), body)
    # §5.4.5: the responder sends with the second key.
    t_recv, t_send = KDF(2, c, b"")
    return body + mac1 + b"\0" * 16, (t_send, t_recv)


def consume_response(state, resp, s_priv_i, psk):
    c, h, e_priv_i = state
    e_pub_r = resp[12:44]
    c = KDF(1, c, e_pub_r)[0]
    h = HASH(h, e_pub_r)
    c = KDF(1, c, DH(e_priv_i, e_pub_r))[0]
    c = KDF(1, c, DH(s_priv_i, e_pub_r))[0]
    c, tau, k = KDF(3, c, psk)
    h = HASH(h, tau)
    AEAD_OPEN(k, 0, resp[44:60], h)
    t_send, t_recv = KDF(2, c, b"")
    return t_send, t_recv


def cookie_reply(secret, source, msg, receiver, nonce, responder_public):
    """§5.4.7: the cookie for `source` and the reply carrying it."""
    cookie = MAC(secret, source)
    mac1 = msg[-32:-16]
    key = HASH(LABEL_COOKIE, responder_public)
    sealed = XAEAD(key, nonce, cookie, mac1)
    return cookie, struct.pack("<II", 3, receiver) + nonce + sealed


def with_mac2(msg, cookie):
    return msg[:-16] + MAC(cookie, msg[:-16])


# ---- fixed inputs (also written into the Rust tests) ----

def fixed(byte, n=32):
    return bytes((byte + i) & 0xFF for i in range(n))


INPUTS = {
    "INIT_STATIC": fixed(0x10),
    "RESP_STATIC": fixed(0x40),
    "INIT_EPHEMERAL": fixed(0x70),
    "RESP_EPHEMERAL": fixed(0xA0),
    "PSK": fixed(0xD0),
    "TIMESTAMP": bytes.fromhex("400000006553f100075bcd15"),
    "COOKIE_SECRET": fixed(0x33),
    "COOKIE_NONCE": fixed(0x55, 24),
    "COOKIE_SOURCE": bytes([127, 0, 0, 1, 0xCA, 0x6C]),
}
INIT_INDEX = 0x11223344
RESP_INDEX = 0x55667788


def known_answers(psk):
    i = INPUTS
    init_msg, state = create_initiation(i["INIT_STATIC"], DH_PUBLIC(i["RESP_STATIC"]),
                                        i["INIT_EPHEMERAL"], INIT_INDEX, i["TIMESTAMP"])
    resp_msg, (r_send, r_recv) = create_response(init_msg, i["RESP_STATIC"],
                                                 DH_PUBLIC(i["INIT_STATIC"]), psk,
                                                 i["RESP_EPHEMERAL"], RESP_INDEX)
    i_send, i_recv = consume_response(state, resp_msg, i["INIT_STATIC"], psk)
    assert i_send == r_recv and i_recv == r_send
    return init_msg, resp_msg, i_send, i_recv


def answers():
    i = INPUTS
    out = {}
    init_msg, resp_msg, i_send, i_recv = known_answers(b"\0" * 32)
    out["INITIATION"] = init_msg
    out["RESPONSE"] = resp_msg
    out["INITIATOR_SEND"] = i_send
    out["INITIATOR_RECV"] = i_recv
    init_psk, resp_psk, psk_send, psk_recv = known_answers(i["PSK"])
    out["INITIATION_PSK"] = init_psk  # the PSK enters only after the initiation
    out["RESPONSE_PSK"] = resp_psk
    out["INITIATOR_SEND_PSK"] = psk_send
    out["INITIATOR_RECV_PSK"] = psk_recv
    cookie, reply = cookie_reply(i["COOKIE_SECRET"], i["COOKIE_SOURCE"], init_msg, INIT_INDEX,
                                 i["COOKIE_NONCE"], DH_PUBLIC(i["RESP_STATIC"]))
    out["COOKIE"] = cookie
    out["COOKIE_REPLY"] = reply
    out["INITIATION_MAC2"] = with_mac2(init_msg, cookie)[-16:]
    return out


def print_rust(values):
    print("// Generated by tests/reference/wg_handshake.py --rust")
    for name, value in list(INPUTS.items()) + list(values.items()):
        print(f'pub const {name}: &str = "{value.hex()}";')
    print(f"pub const INIT_INDEX: u32 = 0x{INIT_INDEX:08x};")
    print(f"pub const RESP_INDEX: u32 = 0x{RESP_INDEX:08x};")


# ---- --interop: the same bytes against wireguard-go ----

def interop_exchange(wg_port):
    """Inside the test namespace: send the fixed initiation to wireguard-go on
    its loopback, check the response, answer with a keepalive."""
    i = INPUTS
    init_msg, _, _, _ = known_answers(i["PSK"])
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(3)
    sock.sendto(init_msg, ("127.0.0.1", wg_port))
    resp, _ = sock.recvfrom(2048)
    assert len(resp) == 92 and resp[0] == 2, f"unexpected reply {resp.hex()}"
    assert struct.unpack("<I", resp[8:12])[0] == INIT_INDEX, "response to another index"
    assert _hmac.compare_digest(
        resp[60:76], MAC(HASH(LABEL_MAC1, DH_PUBLIC(i["INIT_STATIC"])), resp[:60])), "MAC1"
    # The responder's ephemeral is random there, so finish the handshake from
    # our side and check the keys work: wireguard-go only counts the keepalive
    # if it opens with its receiving key.
    _, state = create_initiation(i["INIT_STATIC"], DH_PUBLIC(i["RESP_STATIC"]),
                                 i["INIT_EPHEMERAL"], INIT_INDEX, i["TIMESTAMP"])
    t_send, _ = consume_response(state, resp, i["INIT_STATIC"], i["PSK"])
    remote_index = struct.unpack("<I", resp[4:8])[0]
    keepalive = struct.pack("<IIQ", 4, remote_index, 0) + AEAD(t_send, 0, b"", b"")
    sock.sendto(keepalive, ("127.0.0.1", wg_port))
    print(len(init_msg) + len(keepalive))


def sh(*args, check=True):
    return subprocess.run(args, check=check, capture_output=True, text=True)


def interop():
    import base64
    i = INPUTS
    ns = f"wgref{os.getpid()}"
    wg_port = 51820
    tmp = tempfile.mkdtemp()
    wg_go = None
    try:
        sh("ip", "netns", "add", ns)
        sh("ip", "-n", ns, "link", "set", "lo", "up")
        env = dict(os.environ, WG_PROCESS_FOREGROUND="1", WG_SOCKET_DIR=tmp)
        wg_go = subprocess.Popen(["ip", "netns", "exec", ns, "wireguard-go", "-f", "wgref0"],
                                 env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        for _ in range(100):
            if sh("ip", "-n", ns, "link", "show", "wgref0", check=False).returncode == 0:
                break
            if wg_go.poll() is not None:
                raise RuntimeError("wireguard-go exited: " + wg_go.stderr.read().decode())
            time.sleep(0.05)
        else:
            raise RuntimeError("wireguard-go did not create wgref0")
        keyfile = os.path.join(tmp, "key")
        pskfile = os.path.join(tmp, "psk")
        with open(keyfile, "w") as f:
            f.write(base64.b64encode(i["RESP_STATIC"]).decode())
        with open(pskfile, "w") as f:
            f.write(base64.b64encode(i["PSK"]).decode())
        sh("ip", "netns", "exec", ns, "wg", "set", "wgref0", "private-key", keyfile,
           "listen-port", str(wg_port), "peer",
           base64.b64encode(DH_PUBLIC(i["INIT_STATIC"])).decode(),
           "preshared-key", pskfile, "allowed-ips", "10.99.0.0/24")
        sent = int(sh("ip", "netns", "exec", ns, sys.executable, os.path.abspath(__file__),
                      "--interop-exchange", str(wg_port)).stdout)
        rx = 0
        for _ in range(40):
            dump = sh("ip", "netns", "exec", ns, "wg", "show", "wgref0", "dump").stdout
            peer = dump.strip().splitlines()[1].split("\t")
            rx = int(peer[5])
            if rx >= sent:
                break
            time.sleep(0.05)
        assert rx >= sent, f"wireguard-go received {rx} bytes, expected {sent}"
        print(f"interop ok: wireguard-go answered the fixed initiation and accepted "
              f"a keepalive under the derived keys ({rx} bytes received)")
    finally:
        if wg_go is not None:
            wg_go.terminate()
            try:
                wg_go.wait(timeout=3)
            except subprocess.TimeoutExpired:
                wg_go.kill()
                wg_go.wait()
        sh("ip", "netns", "del", ns, check=False)
        subprocess.run(["rm", "-rf", tmp])


def self_check():
    """The hand-written pieces against outside answers before anything is printed."""
    # draft-irtf-cfrg-xchacha-03 §2.2.1
    got = HCHACHA20(bytes(range(32)), bytes.fromhex("000000090000004a0000000031415927"))
    assert got.hex() == ("82413b4227b27bfed30e42508a877d73"
                         "a0f9e4d58a74a853c12ec41326d3ecdc"), "HChaCha20"
    # HMAC as the standard library builds it (keys here are at most one block).
    for key in (b"", b"k" * 32, b"x" * 64):
        want = _hmac.new(key, b"message", hashlib.blake2s).digest()
        assert HMAC(key, b"mess", b"age") == want, "HMAC"


def main():
    self_check()
    if "--interop-exchange" in sys.argv:
        interop_exchange(int(sys.argv[sys.argv.index("--interop-exchange") + 1]))
    elif "--interop" in sys.argv:
        interop()
    elif "--rust" in sys.argv:
        print_rust(answers())
    else:
        for name, value in answers().items():
            print(f"{name} = {value.hex()}")


if __name__ == "__main__":
    main()
