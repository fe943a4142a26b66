"""Hand-written dag-pb / UnixFS encoding of the nodes of a UnixFS file, and CIDv0 text.

Only the handful of messages a kubo v0 file import produces are written, byte for byte as
kubo and ipfs-unixfs-importer write them:

- ``PBNode``: Links (field 2) first, then Data (field 1) -- canonical dag-pb order;
- ``PBLink``: Hash (1), Name (2, always present and empty), Tsize (3);
- UnixFS ``Data``: Type (1) = File, Data (2) only when non-empty, filesize (3) always,
  blocksizes (4) repeated and *not* packed (proto2).
"""

from __future__ import annotations

from dataclasses import dataclass

# multihash header of a sha2-256 digest: function code 0x12, length 32.
SHA256_MULTIHASH_PREFIX = b"\x12\x20"
_UNIXFS_TYPE_FILE = b"\x08\x02"
_BASE58_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def varint(value: int) -> bytes:
    """Unsigned LEB128, as protobuf and multiformats use."""
    if value < 0:
        raise ValueError(f"varint of a negative number: {value}")
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _length_delimited(field_tag: int, payload: bytes) -> bytes:
    return bytes((field_tag,)) + varint(len(payload)) + payload


@dataclass(frozen=True, slots=True)
class Link:
    """What a parent needs to know of one child: its digest and sizes.

    ``tsize`` is the serialized size of the child's whole subtree (what kubo puts in
    PBLink.Tsize); ``filesize`` is how many bytes of the file lie under it (what goes into
    the parent's UnixFS blocksizes).
    """

    digest: bytes
    tsize: int
    filesize: int


def leaf_envelope(data_len: int) -> tuple[bytes, bytes]:
    """The bytes before and after the file data in a leaf node of ``data_len`` bytes.

    A leaf is ``PBNode{Data: UnixFS{Type: File, Data: chunk, filesize: len}}`` with no
    links. Returning the envelope rather than the node lets callers hash the chunk where
    it lies, without copying it into a node buffer.
    """
    filesize = b"\x18" + varint(data_len)
    data_field = b"\x12" + varint(data_len) if data_len else b""
    unixfs_len = len(_UNIXFS_TYPE_FILE) + len(data_field) + data_len + len(filesize)
    head = b"\x0a" + varint(unixfs_len) + _UNIXFS_TYPE_FILE + data_field
    return head, filesize


def internal_node(children: list[Link]) -> bytes:
    """A non-leaf node: one link per child, then UnixFS{File, filesize, blocksizes}."""
    parts: list[bytes] = []
    for child in children:
        pb_link = (
            _length_delimited(0x0A, SHA256_MULTIHASH_PREFIX + child.digest)
            + b"\x12\x00"
            + b"\x18"
            + varint(child.tsize)
        )
        parts.append(_length_delimited(0x12, pb_link))
    unixfs = [_UNIXFS_TYPE_FILE, b"\x18", varint(sum(c.filesize for c in children))]
    for child in children:
        unixfs.append(b"\x20")
        unixfs.append(varint(child.filesize))
    parts.append(_length_delimited(0x0A, b"".join(unixfs)))
    return b"".join(parts)


def cid_v0(digest: bytes) -> str:
    """CIDv0 text: base58btc of the sha2-256 multihash, no multibase prefix (``Qm...``)."""
    if len(digest) != 32:
        raise ValueError(f"sha2-256 digest must be 32 bytes, got {len(digest)}")
    raw = SHA256_MULTIHASH_PREFIX + digest
    number = int.from_bytes(raw, "big")
    chars: list[str] = []
    while number:
        number, rem = divmod(number, 58)
        chars.append(_BASE58_ALPHABET[rem])
    # base58 keeps leading zero bytes as '1's; a multihash never starts with 0, but be exact.
    leading_zeros = len(raw) - len(raw.lstrip(b"\x00"))
    return "1" * leading_zeros + "".join(reversed(chars))
