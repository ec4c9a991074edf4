#!/usr/bin/env python3
"""Make libLibTorchSharp.so load on systems whose libstdc++ predates GLIBCXX_3.4.32 (e.g. Debian 12).

TorchSharp 0.107's native shim records a *version need* on GLIBCXX_3.4.32 for a single symbol
(std::ios_base_library_init) that no relocation refers to. Marking that need as weak (VER_FLG_WEAK)
in the ELF .gnu.version_r section turns glibc's hard refusal into a warning. The patch is applied
only when the system libstdc++ lacks the version, and never in place on a hard-linked file (the
output copy may be a hard link into the NuGet cache): the file is copied first, then replaced.

usage: patch_libtorchsharp.py LIB [VERSION]
"""
import os, shutil, struct, subprocess, sys

SHT_GNU_VERNEED = 0x6FFFFFFE
VER_FLG_WEAK = 0x2


def system_has(version: str) -> bool:
    candidates = []
    try:
        out = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True).stdout
        for line in out.splitlines():
            if "libstdc++.so.6 " in line and "x86-64" in line and "=>" in line:
                candidates.append(line.split("=>")[1].strip())
    except OSError:
        pass
    candidates += ["/usr/lib/x86_64-linux-gnu/libstdc++.so.6", "/usr/lib64/libstdc++.so.6", "/lib/x86_64-linux-gnu/libstdc++.so.6"]
    for c in candidates:
        if os.path.exists(c):
            with open(c, "rb") as f:
                return version.encode() + b"\0" in f.read()
    return False  # no libstdc++ found at all: patching is harmless


def find_weakable(data: bytes, version: str):
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        raise SystemExit("not a little-endian ELF64 file")
    e_shoff, = struct.unpack_from("<Q", data, 0x28)
    e_shentsize, e_shnum = struct.unpack_from("<HH", data, 0x3A)
    sections = [struct.unpack_from("<IIQQQQIIQQ", data, e_shoff + i * e_shentsize) for i in range(e_shnum)]
    hits = []
    for (_, sh_type, _, _, off, _, link, info, _, _) in sections:
        if sh_type != SHT_GNU_VERNEED:
            continue
        strtab_off = sections[link][4]
        pos = off
        for _ in range(info):  # sh_info = number of Verneed entries
            _, cnt, _, aux, nxt = struct.unpack_from("<HHIII", data, pos)
            apos = pos + aux
            for _ in range(cnt):
                _, flags, _, name, anext = struct.unpack_from("<IHHII", data, apos)
                end = data.index(b"\0", strtab_off + name)
                if data[strtab_off + name:end].decode() == version:
                    hits.append((apos + 4, flags))
                if anext == 0:
                    break
                apos += anext
            if nxt == 0:
                break
            pos += nxt
    return hits


def main() -> int:
    lib = sys.argv[1]
    version = sys.argv[2] if len(sys.argv) > 2 else "GLIBCXX_3.4.32"
    if not os.path.exists(lib):
        return 0
    if system_has(version):
        print(f"patch_libtorchsharp: system libstdc++ has {version}; nothing to do")
        return 0
    with open(lib, "rb") as f:
        data = bytearray(f.read())
    hits = [(o, fl) for (o, fl) in find_weakable(bytes(data), version) if not fl & VER_FLG_WEAK]
    if not hits:
        return 0
    for o, fl in hits:
        struct.pack_into("<H", data, o, fl | VER_FLG_WEAK)
    tmp = lib + ".patching"
    with open(tmp, "wb") as f:  # a new inode: never writes through a hard link into the NuGet cache
        f.write(data)
    shutil.copymode(lib, tmp)
    os.replace(tmp, lib)
    print(f"patch_libtorchsharp: marked {version} weak in {lib}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
