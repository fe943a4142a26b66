// A js-libp2p peer for the interop tests, driven over stdin/stdout with JSON lines.
//
//   node --import ./polyfill.mjs peer.mjs [--passphrase P] [--listen MA] [--canned-get JSON]
//                                          [--muxer yamux|mplex] [--mdns]
//
// It prints {"event":"ready", ...} once listening, then answers each command line
// {"id": n, "op": ..., ...} with one line {"id": n, "ok": true|false, ...}. Commands run
// concurrently. End of stdin (or {"op":"stop"}) stops the node.
//
// Everything here is stock js-libp2p: TCP, PSK v1 (@libp2p/pnet), Noise, Yamux (or mplex),
// identify, ping and kad-dht in server mode; with --mdns, @libp2p/mdns too (it answers
// _p2p._udp.local queries and prints {"event":"discovered", ...} for each peer it finds). The swarm key is derived here from the
// passphrase (SHA3-256, node:crypto), independently of the Python code under test.

import { createHash } from 'node:crypto'
import { createInterface } from 'node:readline'
import { parseArgs } from 'node:util'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { kadDHT, passthroughMapper } from '@libp2p/kad-dht'
import { mdns } from '@libp2p/mdns'
import { mplex } from '@libp2p/mplex'
import { ping } from '@libp2p/ping'
import { preSharedKey } from '@libp2p/pnet'
import { tcp } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import { concat } from 'uint8arrays/concat'
import { fromString, toString } from 'uint8arrays'

const { values: args } = parseArgs({
  options: {
    passphrase: { type: 'string' },
    listen: { type: 'string', default: '/ip4/127.0.0.1/tcp/0' },
    'canned-get': { type: 'string' },
    // yamux (js-libp2p's and go-libp2p's default) or mplex (py-libp2p's second choice)
    muxer: { type: 'string', default: 'yamux' },
    // @libp2p/mdns, querying every second (its default is every 10 s)
    mdns: { type: 'boolean', default: false }
  }
})

function swarmKeyText (passphrase) {
  // The Go original: SHA3-256 of the raw passphrase bytes, in swarm.key's three lines.
  const key = createHash('sha3-256').update(Buffer.from(passphrase, 'utf8')).digest('hex')
  return `/key/swarm/psk/1.0.0/\n/base16/\n${key}\n`
}

async function rendezvousCid (namespace) {
  // What go-libp2p's RoutingDiscovery provides for a namespace.
  return CID.createV1(raw.code, await sha256.digest(fromString(namespace)))
}

const muxers = { yamux, mplex }
if (!(args.muxer in muxers)) {
  throw new Error(`unknown muxer ${args.muxer}`)
}

const swarmKey = args.passphrase === undefined ? undefined : swarmKeyText(args.passphrase)

const node = await createLibp2p({
  addresses: { listen: [args.listen] },
  transports: [tcp()],
  connectionProtector: swarmKey === undefined ? undefined : preSharedKey({ psk: fromString(swarmKey) }),
  connectionEncrypters: [noise()],
  streamMuxers: [muxers[args.muxer]()],
  peerDiscovery: args.mdns ? [mdns({ interval: 1000 })] : [],
  services: {
    identify: identify(),
    // js-libp2p's connection monitor pings every connection every 10 s on this same
    // protocol; ping's default of 1 outbound stream would refuse a test's own ping
    // that happens to overlap one.
    ping: ping({ maxOutboundStreams: 4 }),
    // Server mode, and keep loopback/private addresses (the default mapper of the
    // public DHT drops them, which would hide every peer on 127.0.0.1).
    dht: kadDHT({ clientMode: false, peerInfoMapper: passthroughMapper })
  }
})

function emit (obj) {
  process.stdout.write(JSON.stringify(obj) + '\n')
}

if (args.mdns) {
  // Every discovery (kad-dht's too), and only with --mdns: other tests read events.
  node.addEventListener('peer:discovery', (event) => {
    emit({
      event: 'discovered',
      peer: event.detail.id.toString(),
      addrs: event.detail.multiaddrs.map(String)
    })
  })
}

async function readAll (stream) {
  const parts = []
  for await (const chunk of stream) {
    parts.push(chunk.subarray())
  }
  return concat(parts)
}

function describe (err) {
  return { error: `${err.name}: ${err.message}`, errorName: err.name }
}

if (args['canned-get'] !== undefined) {
  const canned = fromString(args['canned-get'])
  // Answers like a registry-service would: read the request to its end, reply, close.
  await node.handle('/get/0.1', async (stream) => {
    const request = toString(await readAll(stream))
    emit({ event: 'served', protocol: '/get/0.1', request })
    stream.send(canned)
    await stream.close()
  })
}

const ops = {
  async dial ({ addr, timeout_ms: timeoutMs = 10000 }) {
    const started = performance.now()
    const conn = await node.dial(multiaddr(addr), { signal: AbortSignal.timeout(timeoutMs) })
    return {
      peer: conn.remotePeer.toString(),
      encryption: conn.encryption,
      multiplexer: conn.multiplexer,
      ms: performance.now() - started
    }
  },

  // One request exactly as the reference protocol frames it: write the whole
  // request, close our write side, read the answer to its end.
  async request ({ addr, protocol, payload = '', timeout_ms: timeoutMs = 10000 }) {
    const signal = AbortSignal.timeout(timeoutMs)
    const stream = await node.dialProtocol(multiaddr(addr), protocol, { signal })
    if (payload.length > 0) {
      stream.send(fromString(payload))
    }
    await stream.close({ signal })
    const reply = await readAll(stream)
    return { reply: toString(reply), protocol: stream.protocol }
  },

  async rendezvous_cid ({ namespace }) {
    return { cid: (await rendezvousCid(namespace)).toString() }
  },

  async find_providers ({ namespace, timeout_ms: timeoutMs = 10000 }) {
    const cid = await rendezvousCid(namespace)
    const providers = []
    const signal = AbortSignal.timeout(timeoutMs)
    for await (const info of node.contentRouting.findProviders(cid, { signal })) {
      providers.push({ id: info.id.toString(), addrs: info.multiaddrs.map(String) })
    }
    return { cid: cid.toString(), providers }
  },

  async provide ({ namespace, timeout_ms: timeoutMs = 10000 }) {
    const cid = await rendezvousCid(namespace)
    await node.contentRouting.provide(cid, { signal: AbortSignal.timeout(timeoutMs) })
    return { cid: cid.toString() }
  },

  async routing_table () {
    const table = node.services.dht.routingTable
    const peers = []
    for (const bucket of table.kb?.toIterable?.() ?? []) {
      peers.push(bucket.peerId.toString())
    }
    return { size: table.size, peers }
  },

  async connections () {
    return {
      connections: node.getConnections().map(c => ({
        peer: c.remotePeer.toString(),
        remoteAddr: c.remoteAddr.toString(),
        encryption: c.encryption,
        multiplexer: c.multiplexer
      }))
    }
  },

  async protocols ({ peer }) {
    const { peerIdFromString } = await import('@libp2p/peer-id')
    const stored = await node.peerStore.get(peerIdFromString(peer))
    return { protocols: stored.protocols }
  }
}

let stopping = false
async function stop () {
  if (stopping) return
  stopping = true
  await node.stop()
  process.exit(0)
}

emit({
  event: 'ready',
  peerId: node.peerId.toString(),
  addrs: node.getMultiaddrs().map(String),
  swarmKey: swarmKey ?? null,
  dhtMode: node.services.dht.getMode()
})

const lines = createInterface({ input: process.stdin })
lines.on('line', (line) => {
  if (line.trim() === '') return
  let command
  try {
    command = JSON.parse(line)
  } catch (err) {
    emit({ ok: false, ...describe(err) })
    return
  }
  if (command.op === 'stop') {
    stop()
    return
  }
  const op = ops[command.op]
  if (op === undefined) {
    emit({ id: command.id, ok: false, error: `unknown op ${command.op}` })
    return
  }
  const started = performance.now()
  op(command).then(
    (result) => emit({ id: command.id, ok: true, elapsed_ms: performance.now() - started, ...result }),
    (err) => emit({ id: command.id, ok: false, elapsed_ms: performance.now() - started, ...describe(err) })
  )
})
lines.on('close', stop)
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, stop)
}
