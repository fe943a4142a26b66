// Short-lived js-libp2p clients, one after another, as Go proxies and CLIs come and go.
//
//   node --import ./polyfill.mjs short_lived_clients.mjs --addr MA --count N --name S
//                                                          [--passphrase P]
//
// Each client is a new node with a new peer id (TCP, PSK v1, Noise, Yamux, identify):
// it dials the registry-service, sends one /get/0.1 request for NAME as the reference
// protocol frames it, reads the answer to its end and stops. Prints one JSON line:
// {"ok": n, "failed": n, "firstError": "...", "ms": [per client, start to stop]}.

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
import { fromString, toString } from 'uint8arrays'

const { values: args } = parseArgs({
  options: {
    addr: { type: 'string' },
    count: { type: 'string', default: '1' },
    name: { type: 'string' },
    passphrase: { type: 'string' }
  }
})

function swarmKeyText (passphrase) {
  const key = createHash('sha3-256').update(Buffer.from(passphrase, 'utf8')).digest('hex')
  return `/key/swarm/psk/1.0.0/\n/base16/\n${key}\n`
}

async function oneClient (target) {
  const node = await createLibp2p({
    transports: [tcp()],
    connectionProtector: args.passphrase === undefined
      ? undefined
      : preSharedKey({ psk: fromString(swarmKeyText(args.passphrase)) }),
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: { identify: identify() }
  })
  try {
    const signal = AbortSignal.timeout(10000)
    const stream = await node.dialProtocol(target, '/get/0.1', { signal })
    stream.send(fromString(args.name))
    await stream.close({ signal })
    const parts = []
    for await (const chunk of stream) parts.push(chunk.subarray())
    const reply = JSON.parse(toString(concat(parts)))
    if (reply.LookupOk !== true) throw new Error(`unexpected answer ${JSON.stringify(reply)}`)
  } finally {
    await node.stop()
  }
}

const target = multiaddr(args.addr)
const result = { ok: 0, failed: 0, firstError: null, ms: [] }
for (let i = 0; i < Number(args.count); i++) {
  const started = performance.now()
  try {
    await oneClient(target)
    result.ok++
  } catch (err) {
    result.failed++
    result.firstError ??= `client ${i}: ${err.name}: ${err.message}`
  }
  result.ms.push(performance.now() - started)
}
process.stdout.write(JSON.stringify(result) + '\n')
process.exit(0)
