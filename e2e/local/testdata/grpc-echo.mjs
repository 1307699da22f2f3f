// Test function for the local-platform integration tests: a gRPC server (h2c) answering "<instance>:<request bytes>".
import * as grpc from '@grpc/grpc-js';

const identity = (b) => b;
export const ECHO_SERVICE = {
  Echo: {
    path: '/sluice.test.Echo/Echo',
    requestStream: false,
    responseStream: false,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  },
};

const server = new grpc.Server();
server.addService(ECHO_SERVICE, {
  Echo: (call, callback) => callback(null, Buffer.concat([Buffer.from(`${process.env.SLUICE_INSTANCE}:`), call.request])),
});
server.bindAsync(`${process.env.HOST ?? '127.0.0.1'}:${process.env.PORT ?? 8080}`, grpc.ServerCredentials.createInsecure(), (err) => {
  if (err) {
    console.error(err);
    process.exit(1);
  }
});
process.on('SIGTERM', () => server.tryShutdown(() => process.exit(0)));
