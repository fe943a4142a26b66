// A js-libp2p client that measures /get/0.1 requests per second against one server.
//
//   node --import ./polyfill.mjs get_rate.mjs --addr MA --name S --passphrase P
//                                             [--streams N] [--seconds T] [--warmup T]
//
// One node (TCP, PSK v1, Noise, Yamux, identify), one connection; N loops at once, each
// opening a new stream per request, sending NAME as the reference protocol frames it
// (write, close the write side, read the answer to its end). After --warmup seconds it
// counts for --seconds. Prints one JSON line:
// {"requests": n, "seconds": t, "perSecond": r, "p50": ms, "p99": ms, "failed": n,
//  "answerHex": the last answer, "firstError": "..."}.

import { createHash } from 'node:crypto'
import { parseArgs } from 'node:util'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { preSharedKey } from '@libp2p/pnet'
import { tcp } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { concat } from 'uint8arrays/concat'
import { fromString } from 'uint8arrays'

const { values: args } = parseArgs({
  options: {
    addr: { type: 'string' },
    name: { type: 'string' },
    passphrase: { type: 'string' },
    streams: { type: 'string', default: '1' },
    seconds: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '1' }
  }
})

function swarmKeyText (passphrase) {
  const key = createHash('sha3-256').update(Buffer.from(passphrase, 'utf8')).digest('hex')
  return `/key/swarm/psk/1.0.0/\n/base16/\n${key}\n`
}

const node = await createLibp2p({
  transports: [tcp()],
  connectionProtector: args.passphrase === undefined
    ? undefined
    : preSharedKey({ psk: fromString(swarmKeyText(args.passphrase)) }),
  connectionEncrypters: [noise()],
  streamMuxers: [yamux()],
  services: { identify: identify() }
})
const target = multiaddr(args.addr)
const connection = await node.dial(target, { signal: AbortSignal.timeout(10000) })
const request = fromString(args.name)

async function oneGet () {
  const stream = await connection.newStream('/get/0.1', { signal: AbortSignal.timeout(10000) })
  stream.send(request)
  await stream.close()
  const parts = []
  for await (const chunk of stream) parts.push(chunk.subarray())
  return concat(parts)
}

const warmupEnds = performance.now() + Number(args.warmup) * 1000
const ends = warmupEnds + Number(args.seconds) * 1000
const latencies = []
const result = { requests: 0, failed: 0, firstError: null }
let last = new Uint8Array()

async function loop () {
  while (true) {
    const started = performance.now()
    if (started >= ends) return
    try {
      last = await oneGet()
      if (started >= warmupEnds) {
        latencies.push(performance.now() - started)
      }
    } catch (err) {
      result.failed++
      result.firstError ??= `${err.name}: ${err.message}`
    }
  }
}

await Promise.all(Array.from({ length: Number(args.streams) }, loop))
latencies.sort((a, b) => a - b)
result.requests = latencies.length
result.answerHex = Buffer.from(last).toString('hex')
result.seconds = Number(args.seconds)
result.perSecond = latencies.length / Number(args.seconds)
result.p50 = latencies[Math.floor(latencies.length * 0.5)] ?? null
result.p99 = latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * 0.99))] ?? null
process.stdout.write(JSON.stringify(result) + '\n')
await node.stop()
process.exit(0)
