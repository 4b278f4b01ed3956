"""The W3C Bitstring Status List encoding: a bitstring, bit 0 the most significant bit of the
first byte, GZIP-compressed, base64url without padding, with the multibase prefix "u"."""

import base64
import gzip

from .models import STATUS_LIST_SIZE


def encode(set_indexes, size: int = STATUS_LIST_SIZE) -> str:
    """`encodedList` for a list of `size` bits (a multiple of 8) with the given indexes set."""
    bits = bytearray(size // 8)
    for index in set_indexes:
        if not 0 <= index < size:
            raise ValueError(f"Status index {index} is outside a list of {size} bits.")
        bits[index // 8] |= 0x80 >> (index % 8)
    # mtime=0: the same bits give the same bytes.
    packed = gzip.compress(bytes(bits), mtime=0)
    return "u" + base64.urlsafe_b64encode(packed).decode().rstrip("=")


def decode(encoded: str) -> bytes:
    """The bitstring of an `encodedList` (raises ValueError when it is not one)."""
    if not encoded.startswith("u"):
        raise ValueError("An encodedList is multibase base64url: it starts with 'u'.")
    body = encoded[1:]
    try:
        packed = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        return gzip.decompress(packed)
    except (ValueError, OSError, EOFError) as bad:
        raise ValueError("The encodedList is not GZIP-compressed base64url.") from bad


def bit(bitstring: bytes, index: int) -> bool:
    """Whether bit `index` is set (raises ValueError outside the list)."""
    if not 0 <= index < len(bitstring) * 8:
        raise ValueError(f"Status index {index} is outside a list of {len(bitstring) * 8} bits.")
    return bool(bitstring[index // 8] & (0x80 >> (index % 8)))
