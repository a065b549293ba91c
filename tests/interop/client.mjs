// The JS automerge-repo client (2.x, WebSocket network adapter, no storage) driven by
// tests/tests/interop.rs: one JSON command per stdin line, one JSON answer per stdout line.
// Logs go to stderr. Exits when stdin closes, on `quit`, or after a minute whatever happens.
//
// usage: node client.mjs WS_URL PEER_ID
// commands:
//   {"cmd":"find","url":"automerge:…","timeout_ms":N}  -> {"ok":true,"doc":{…},"heads":[…]}
//                                                       | {"ok":false,"error":"…"}
//   {"cmd":"append_event","url":…,"id":…,"event":{…}}  -> {"ok":true,"heads":[…]}
//   {"cmd":"wait_event","url":…,"id":…,"timeout_ms":N} -> {"ok":true,"event":{…}}
//   {"cmd":"create","doc":{…}}                          -> {"ok":true,"url":"automerge:…","heads":[…]}
//   {"cmd":"delete_events","url":…}                    -> {"ok":true,"heads":[…]} (every event)
//   {"cmd":"errors","timeout_ms":N,"at_least":K}       -> {"ok":true,"errors":[…]} (`error`
//                                                          messages the adapter received)
//   {"cmd":"quit"}
import { Repo, cbor } from "@automerge/automerge-repo"
import { WebSocketClientAdapter } from "@automerge/automerge-repo-network-websocket"
import * as A from "@automerge/automerge"
import readline from "node:readline"

const [url, peerId] = process.argv.slice(2)
if (!url || !peerId) {
  console.error("usage: node client.mjs WS_URL PEER_ID")
  process.exit(2)
}
setTimeout(() => {
  console.error("client.mjs: one minute passed, exiting")
  process.exit(3)
}, 60_000).unref()

const adapter = new WebSocketClientAdapter(url, 1000)
// What the relay said in `error` messages: the adapter only logs them (with `debug`) and drops
// them, so they are read here on their way in.
const errors = []
const receive = adapter.receiveMessage.bind(adapter)
adapter.receiveMessage = (bytes) => {
  try {
    const message = cbor.decode(new Uint8Array(bytes))
    if (message?.type === "error") errors.push(message)
  } catch {
    // the adapter logs what does not decode
  }
  receive(bytes)
}
const repo = new Repo({
  network: [adapter],
  peerId,
})
const handles = new Map()

function answer(value) {
  process.stdout.write(JSON.stringify(value) + "\n")
}

function withTimeout(promise, ms, what) {
  let timer
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out: ${what}`)), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

async function handle(docUrl, ms) {
  if (handles.has(docUrl)) return handles.get(docUrl)
  const found = await withTimeout(repo.find(docUrl), ms, `find ${docUrl}`)
  handles.set(docUrl, found)
  return found
}

async function run(command) {
  const ms = command.timeout_ms ?? 15_000
  switch (command.cmd) {
    case "find": {
      const h = await handle(command.url, ms)
      return { doc: A.toJS(h.doc()), heads: A.getHeads(h.doc()) }
    }
    case "append_event": {
      const h = await handle(command.url, ms)
      h.change((d) => {
        d.events[command.id] = command.event
      })
      return { heads: A.getHeads(h.doc()) }
    }
    case "wait_event": {
      const h = await handle(command.url, ms)
      const seen = () => h.doc().events?.[command.id]
      if (!seen()) {
        await withTimeout(
          new Promise((resolve) => {
            const check = () => {
              if (seen()) {
                h.off("change", check)
                resolve()
              }
            }
            h.on("change", check)
          }),
          ms,
          `event ${command.id}`,
        )
      }
      return { event: JSON.parse(JSON.stringify(seen())) }
    }
    case "create": {
      const h = repo.create(command.doc)
      handles.set(h.url, h)
      return { url: h.url, heads: A.getHeads(h.doc()) }
    }
    case "delete_events": {
      const h = await handle(command.url, ms)
      h.change((d) => {
        for (const id of Object.keys(d.events)) delete d.events[id]
      })
      return { heads: A.getHeads(h.doc()) }
    }
    case "errors": {
      const deadline = Date.now() + ms
      while (errors.length < (command.at_least ?? 0) && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
      return { errors: errors.map((e) => ({ message: e.message, documentId: e.documentId, refusal: e.refusal })) }
    }
    case "quit": {
      await repo.shutdown()
      process.exit(0)
    }
    default:
      throw new Error(`unknown command ${command.cmd}`)
  }
}

// Commands run one at a time, in order.
let queue = Promise.resolve()
const lines = readline.createInterface({ input: process.stdin })
lines.on("line", (line) => {
  queue = queue.then(async () => {
    try {
      answer({ ok: true, ...(await run(JSON.parse(line))) })
    } catch (error) {
      answer({ ok: false, error: String(error?.message ?? error) })
    }
  })
})
lines.on("close", () => queue.then(() => process.exit(0)))
