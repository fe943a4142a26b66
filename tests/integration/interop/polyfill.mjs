// Node 20 lacks Promise.withResolvers (added in Node 22); js-libp2p 3.x calls it in
// its stream utilities, peer store queue and ping. Loaded with `node --import`.
if (typeof Promise.withResolvers !== 'function') {
  Promise.withResolvers = function withResolvers () {
    let resolve
    let reject
    const promise = new this((res, rej) => {
      resolve = res
      reject = rej
    })
    return { promise, resolve, reject }
  }
}
