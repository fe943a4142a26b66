"""UnixFS content ids: the CIDv0 that `ipfs add` (kubo defaults) gives a byte stream."""
