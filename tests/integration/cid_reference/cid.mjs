// Reference CIDv0 of one file (or stdin), computed by ipfs-unixfs-importer with
// kubo's v0 defaults (profile 'unixfs-v0-2015': CIDv0, dag-pb 'file' leaves,
// balanced layout of at most 174 links, links-first field order).
//
// usage: node cid.mjs FILE|- [CHUNK_SIZE [MAX_LINKS]]
// Chunk size (default 262144) and links per node (default 174) are parameters
// so that tests can build trees of depth 3+ from kilobytes instead of gigabytes.
import { createReadStream } from 'node:fs'
import { importer } from 'ipfs-unixfs-importer'
import { balanced } from 'ipfs-unixfs-importer/layout'
import { fixedSize } from 'ipfs-unixfs-importer/chunker'

const [path, chunkArg, linksArg] = process.argv.slice(2)
if (path === undefined) {
  console.error('usage: node cid.mjs FILE|- [CHUNK_SIZE [MAX_LINKS]]')
  process.exit(2)
}

function positive (arg, fallback, minimum) {
  const value = arg === undefined ? fallback : Number(arg)
  if (!Number.isSafeInteger(value) || value < minimum) {
    console.error(`invalid number: ${arg}`)
    process.exit(2)
  }
  return value
}
const chunkSize = positive(chunkArg, 262144, 1)
const maxChildrenPerNode = positive(linksArg, 174, 2)

// Only the root CID is wanted: dropping every block keeps memory bounded and
// measures hashing, not storage.
const discard = {
  put: async (cid) => cid
}

const content = path === '-' ? process.stdin : createReadStream(path, { highWaterMark: 1 << 20 })
const options = {
  profile: 'unixfs-v0-2015',
  cidVersion: 0,
  rawLeaves: false,
  leafType: 'file',
  reduceSingleLeafToSelf: true,
  chunker: fixedSize({ chunkSize }),
  layout: balanced({ maxChildrenPerNode })
}

let root
for await (const entry of importer([{ content }], discard, options)) {
  root = entry
}
process.stdout.write(`${root.cid.toString()}\n`)
