// js-ipfs 0.66 (via its dependencies) calls Promise.withResolvers, which Node 20 lacks.
// Loaded through NODE_OPTIONS=--require before the daemon starts.
if (typeof Promise.withResolvers !== 'function') {
  Promise.withResolvers = function withResolvers () {
    let resolve
    let reject
    const promise = new Promise((res, rej) => { resolve = res; reject = rej })
    return { promise, resolve, reject }
  }
}
