// Starts the published JS sync server, @automerge/automerge-repo-sync-server, unchanged (its own
// Repo, WebSocket adapter, NodeFS storage and share policy), except where it listens: the package
// listens on every interface at $PORT (3030); here express's `listen` is redirected to
// 127.0.0.1 on a free port. Storage goes to $DATA_DIR. Exits when stdin closes, so a test that
// dies takes it along.
//
// The first stdout line, `listening on 127.0.0.1:PORT`, is printed once the server is ready:
// listening, *and* its WebSocket adapter is handling connections. The Repo connects its adapter
// only after reading its storage id from disk, and a socket accepted before that is upgraded
// but never answered.
import express from "express"
import { WebSocketServer } from "ws"
import process from "node:process"

let address = null
let adapterReady = false
function announce() {
  if (address && adapterReady) {
    process.stdout.write(`listening on ${address.address}:${address.port}\n`)
  }
}

const listen = express.application.listen
express.application.listen = function (_port, _callback) {
  const server = listen.call(this, 0, "127.0.0.1", () => {
    address = server.address()
    announce()
  })
  return server
}

const on = WebSocketServer.prototype.on
WebSocketServer.prototype.on = function (event, listener) {
  const result = on.call(this, event, listener)
  if (event === "connection" && !adapterReady) {
    adapterReady = true
    announce()
  }
  return result
}

process.stdin.on("data", () => {})
process.stdin.on("end", () => process.exit(0))
process.stdin.on("error", () => process.exit(0))

const { Server } = await import("@automerge/automerge-repo-sync-server/src/server.js")
new Server()
