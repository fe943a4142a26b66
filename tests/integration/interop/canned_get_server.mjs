// A js-libp2p server answering /get/0.1 with fixed bytes from memory: the baseline of
// benchmarks/bench_scale.py (the same stack as get_rate.mjs: TCP, PSK v1, Noise, Yamux,
// identify; nothing else, and no logging per request).
//
//   node --import ./polyfill.mjs canned_get_server.mjs --passphrase P --answer-hex HEX
//
// Prints {"addrs": [...]} once listening; serves until its stdin ends.

import { createHash } from 'node:crypto'
import { parseArgs } from 'node:util'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { preSharedKey } from '@libp2p/pnet'
import { tcp } from '@libp2p/tcp'
import { createLibp2p } from 'libp2p'
import { fromString } from 'uint8arrays'

const { values: args } = parseArgs({
  options: {
    passphrase: { type: 'string' },
    'answer-hex': { type: 'string' },
    listen: { type: 'string', default: '/ip4/127.0.0.1/tcp/0' }
  }
})

function swarmKeyText (passphrase) {
  const key = createHash('sha3-256').update(Buffer.from(passphrase, 'utf8')).digest('hex')
  return `/key/swarm/psk/1.0.0/\n/base16/\n${key}\n`
}

const answer = Uint8Array.from(Buffer.from(args['answer-hex'], 'hex'))
const node = await createLibp2p({
  addresses: { listen: [args.listen] },
  transports: [tcp()],
  connectionProtector: args.passphrase === undefined
    ? undefined
    : preSharedKey({ psk: fromString(swarmKeyText(args.passphrase)) }),
  connectionEncrypters: [noise()],
  streamMuxers: [yamux()],
  services: { identify: identify() }
})

// As a registry-service does: read the request to its end, answer, close.
await node.handle('/get/0.1', async (stream) => {
  for await (const _ of stream) { /* the request's bytes */ }
  stream.send(answer)
  await stream.close()
}, { maxInboundStreams: 1024 })

process.stdout.write(JSON.stringify({ addrs: node.getMultiaddrs().map(String) }) + '\n')
process.stdin.resume()
process.stdin.on('end', async () => {
  await node.stop()
  process.exit(0)
})
