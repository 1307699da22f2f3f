// The sending side of the transport ceilings (ceilings.ts): a child process serving objects of a requested size over
// grpc-js (XdtData.Pull) and over plain TCP. Started by measureCeilings(); prints nothing, reports its ports over IPC.
//
// Protocols:
//   grpc-js  Pull({reference: "<size>"}) streams <size> bytes as Chunk{data} messages of CHUNK_BYTES.
//   tcp      the receiver writes a request (8-byte big-endian size) on a kept-open connection; the sender answers
//            with exactly <size> bytes in CHUNK_BYTES writes, waiting for 'drain' whenever a write says to.
import net from 'node:net';
import { once } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import { bindServer, loadXdtProto } from '../../lib/grpc.js';
import type { XdtDataHandlers } from '../../protos/generated/sluice/xdt/v1/XdtData.js';
import { chunkLengths, CHUNK_BYTES, type SenderReady } from './ceilings-protocol.js';

const host = process.argv[2] ?? '127.0.0.1';

// One chunk of payload, sent again and again: the bytes' content does not matter, and it costs the sender nothing.
const payload = Buffer.alloc(CHUNK_BYTES, 0x5a);

const handlers: XdtDataHandlers = {
  Pull: async (call) => {
    const size = Number(call.request.reference);
    if (!Number.isSafeInteger(size) || size < 0) {
      call.destroy(Object.assign(new Error(`bad size "${call.request.reference}"`), { code: grpc.status.INVALID_ARGUMENT }));
      return;
    }
    for (const length of chunkLengths(size, CHUNK_BYTES)) {
      if (call.cancelled) return;
      const data = length === CHUNK_BYTES ? payload : payload.subarray(0, length);
      if (!call.write({ data })) await once(call, 'drain');
    }
    call.end();
  },
  // Only Pull is measured.
  Get: (call) => call.destroy(Object.assign(new Error('ceilings sender serves Pull only'), { code: grpc.status.UNIMPLEMENTED })),
  Put: (call) => call.destroy(Object.assign(new Error('ceilings sender serves Pull only'), { code: grpc.status.UNIMPLEMENTED })),
};

async function serveTcpConnection(socket: net.Socket): Promise<void> {
  socket.setNoDelay(true);
  let pending = Buffer.alloc(0);
  for await (const data of socket) {
    pending = Buffer.concat([pending, data as Buffer]);
    while (pending.length >= 8) {
      const size = Number(pending.readBigUInt64BE(0));
      pending = pending.subarray(8);
      for (const length of chunkLengths(size, CHUNK_BYTES)) {
        const ok = socket.write(length === CHUNK_BYTES ? payload : payload.subarray(0, length));
        if (!ok) await once(socket, 'drain');
      }
    }
  }
}

async function main(): Promise<void> {
  const proto = loadXdtProto();
  const server = new grpc.Server();
  server.addService(proto.sluice.xdt.v1.XdtData.service, handlers);
  const grpcPort = await bindServer(server, `${host.includes(':') ? `[${host}]` : host}:0`);

  const tcp = net.createServer((socket) => {
    serveTcpConnection(socket).catch(() => socket.destroy());
  });
  tcp.listen(0, host);
  await once(tcp, 'listening');
  const tcpPort = (tcp.address() as net.AddressInfo).port;

  const ready: SenderReady = { grpcPort, tcpPort };
  process.send!(ready);
  // The parent closes the channel when it is done (or dies): then there is nothing left to serve.
  process.once('disconnect', () => process.exit(0));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
