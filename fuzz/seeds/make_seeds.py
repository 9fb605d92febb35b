#!/usr/bin/env python3
"""Writes the small seed corpus of every fuzz target into fuzz/corpus/.

The entry seeds follow the byte layout documented in
webcache-core/src/store/entry.rs (one file per format version and kind).
Run from anywhere: python3 fuzz/seeds/make_seeds.py
"""
import os
import struct

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "corpus")


def write(target, name, data):
    d = os.path.join(ROOT, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)


def b16(b):
    return struct.pack(">H", len(b)) + b


def b32(b):
    return struct.pack(">I", len(b)) + b


def representation(version, flags=0, partial=None, body=b"hello world"):
    out = b"WC" + bytes([version]) + b"R"
    out += struct.pack(">HBQQQ", 200, flags, 1_700_000_000_000, 1_700_000_000_250, 7)
    out += b32(b"http://a.test/r")
    out += struct.pack(">H", 1) + b16(b"accept-encoding") + b"\x01" + b32(b"gzip")
    headers = [(b"cache-control", b"max-age=60"), (b"etag", b'"e1"'),
               (b"set-cookie", b"a=1"), (b"set-cookie", b"b=2"), (b"x-bin", b"\xff\xfe")]
    out += struct.pack(">I", len(headers))
    for n, v in headers:
        out += b16(n) + b32(v)
    if partial is not None:
        complete, ranges = partial
        out += struct.pack(">QI", complete, len(ranges))
        for first, last in ranges:
            out += struct.pack(">QQ", first, last)
    out += struct.pack(">Q", len(body)) + body
    return out


def metadata(version, variants=b""):
    out = b"WC" + bytes([version]) + b"M" + struct.pack(">QQ", 3, 1_700_000_600)
    vary = [b"accept-encoding", b"accept-language"]
    out += struct.pack(">H", len(vary)) + b"".join(b16(n) for n in vary)
    if version == 2:
        out += b32(variants)
    return out


def main():
    for i, v in enumerate(["max-age=60, s-maxage=300", 'private="set-cookie, x-a", no-cache',
                           "no-store\nmax-stale, min-fresh=5", 'max-age="10", ext=tok, x="q\\"s"',
                           "stale-while-revalidate=30, stale-if-error=86400, must-understand"]):
        write("cache_control", str(i), v)
    for i, v in enumerate(['"abc"\0"abc", W/"abc"', 'W/"x"\0*', '"a"\0W/"a", "b"\n"c"', '""\0*, "a"']):
        write("entity_tag", str(i), v)
    for i, v in enumerate(["Sun, 06 Nov 1994 08:49:37 GMT", "Sunday, 06-Nov-94 08:49:37 GMT",
                           "Sun Nov  6 08:49:37 1994", "Fri, 31 Dec 9999 23:59:59 GMT"]):
        write("http_date", str(i), b"\x01\x02\x03\x04\x05" + v.encode())
    for i, v in enumerate(["vary: accept-encoding, Accept\naccept-encoding: gzip ;q=1 , br\naccept: Text/HTML",
                           "vary: *\naccept-language: en-GB, fr;q=0.5", "vary: cookie, cookie\ncookie: a=1\ncookie: b=2"]):
        write("vary", str(i), v)
    for i, v in enumerate(["date: Sun, 06 Nov 1994 08:49:37 GMT\nage: 30\ncache-control: max-age=60",
                           "age: 4294967296, 2\nexpires: 0", "last-modified: Sun, 06 Nov 1994 08:49:37 GMT"]):
        write("age", str(i), b"\x00\x65\x53\xf1\x00\x00\x00\x02\x00\x00\x10\x00\xc8" + v.encode())
    for i, v in enumerate(["bytes=0-4", "bytes=-5, 10-, 3-3", "BYTES = 0-0,2-2,4-4", "bytes 0-4/11",
                           "bytes 5-9/*", "bytes=99999999999999999999999-"]):
        write("range", str(i), b"\x00\x10\x00" + v.encode())
    for i, (r, ct, body) in enumerate([("bytes=0-1,5-6", "text/plain", "0123456789"),
                                       ("bytes=-3,0-0,100-", "", "abcdef"),
                                       ("bytes=0-0,200-300", "text/html; charset=utf-8", "x" * 400),
                                       ("bytes=2-", "a", "bytes 0-4/10")]):
        write("multipart", str(i), f"{r}\n{ct}\n\x03{body}")
    for i, (cdn, sur, cc) in enumerate([("max-age=60, must-revalidate", "", "no-store"),
                                        ("no-store, private", 'max-age=30;webcache, no-store;other', "max-age=1"),
                                        ("max-age=10;a=1, x=(1 2), y=?1, z=\"s\"", "", ""),
                                        ("", "max-age=60+30, content=\"ESI/1.0\"", "public")]):
        write("targeted", str(i), f"{cdn}\0{sur}\0{cc}")
    write("entry", "r1", representation(1))
    write("entry", "r1-invalidated", representation(1, flags=1))
    write("entry", "r2", representation(2, partial=(20, [(0, 4), (10, 15)]), body=b"hello" + b"world!"))
    write("entry", "r3", representation(3, flags=2, partial=(100, [(50, 60)]), body=b"x" * 11))
    write("entry", "m1", metadata(1))
    write("entry", "m2", metadata(2, b"\x11" * 16 + b16(b'"v1"') + b"\x22" * 16 + b16(b'W/"v2"')))
    requests = [
        b"GET /a?b=c HTTP/1.1\r\nHost: a.test\r\nAccept-Encoding: gzip\r\n\r\n"
        b"cache-control: max-age=60\nvary: accept-encoding\netag: \"e\"\0body",
        b"GET http://b.test/x HTTP/1.1\r\nHost: wrong.test\r\nConnection: keep-alive, x-hop\r\nx-hop: 1\r\n"
        b"Range: bytes=0-1,3-4\r\nIf-None-Match: \"e\"\r\n\r\ncache-control: s-maxage=5\netag: \"e\"\0hello world",
        b"OPTIONS * HTTP/1.1\r\nHost: a.test\r\nMax-Forwards: 0\r\n\r\n",
        b"POST /form HTTP/1.0\r\nContent-Length: 0\r\nTE: trailers\r\nExpect: 100-continue\r\n\r\n"
        b"location: /a\nx-status: 201\0",
        b"GET /s HTTP/1.1\r\nHost: a.test\r\nCache-Control: max-stale, only-if-cached\r\n\r\n"
        b"cache-control: max-age=0, stale-while-revalidate=60\nlast-modified: Sun, 06 Nov 1994 08:49:37 GMT\0x",
    ]
    for i, r in enumerate(requests):
        write("proxy_request", str(i), r)


if __name__ == "__main__":
    main()
